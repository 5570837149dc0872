import sys

try:
    from .cli import main
except KeyboardInterrupt:           # Ctrl-C while the program is still loading
    sys.stderr.write("derivation: interrupted\n")
    sys.exit(130)

sys.exit(main())
