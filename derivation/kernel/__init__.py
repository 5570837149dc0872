"""The trusted kernel: the only code that decides a verdict. It imports the standard library and SymPy only.

* ``terms``: the vocabulary (Var, E, f, f', laws) and the moments of the laws, computed.
* ``derivation``: a derivation as data (what the loader hands in).
* ``definitions``: the definitions, checked (one per variable, affine left sides, no circularity) and unfolded.
* ``domain``: signs, and the refusal of anything not real (imaginary unit, roots of what is not shown >= 0).
* ``model``: the probability model: reach through definitions, independence, uncorrelated summands, centring,
  symmetry, identical distribution, counts; each answer with its evidence and premises.
* ``activation``: the computed facts about the activation (A1: odd, f'(0) = 1; the rectifier's m2).
* ``rules``: one function per rule, discharging its obligations through the model.
* ``compare``: equality of derived and claimed forms (canonical forms, bounded simplify).
* ``counterexample``: where a claim is not shown equal, an exact point (sizes, parameters) at which it differs
  from what the rule derived; found, the claim is WRONG (refuted), otherwise UNPROVEN.
* ``check``: the engine, step by step, to verdicts with obligations, relations and premises.

Everything outside (parser, loader, reports, documents, teaching, CLI) may have bugs; it cannot turn a
failure into a success, because every verdict is computed here from what the kernel re-checks.
"""
