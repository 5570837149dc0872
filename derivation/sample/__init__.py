"""A second, independent semantics: every step cross-examined on a sampled concrete model.

The kernel decides a step symbolically. This package shares none of its rule code: it makes the derivation
concrete (sizes, index values and parameters drawn at random; each primitive random family given a law that
satisfies exactly the premises the step may use, and is otherwise deliberately generic; the definitions
evaluated through the network they describe, gradients by finite differences) and evaluates, by Monte Carlo
with NumPy, the step's input and its claim. Agreement is judged within ``Z`` standard errors (batch means).

* :mod:`.estimate`: Monte Carlo estimates with their standard errors;
* :mod:`.laws`: the laws given to primitive variables;
* :mod:`.world`: one concrete model, and expressions evaluated in it (a tree walk, never ``eval``);
* :mod:`.examine`: what each step means on a concrete model, compared;
* :mod:`.refute`: a counterexample for a claim the kernel could not show equal.

Data only: the CLI and the reports print.
"""
