"""The functions expressions may call, by role, each with Terraform's semantics.

    text         format formatlist join split replace regex regexall lower upper title trimspace trim
                 trimprefix trimsuffix substr startswith endswith chomp indent strrev
    collections  length concat merge flatten keys values lookup contains distinct range zipmap setproduct
                 element slice sort reverse index coalesce coalescelist compact one alltrue anytrue sum
                 chunklist toset tolist tomap tostring tonumber tobool
    numbers      min max ceil floor abs signum pow parseint log parsesize
    encoding     jsonencode jsondecode yamlencode base64encode base64decode sha256 sha1 md5 uuidv5
    network      cidrhost cidrsubnet cidrsubnets cidrnetmask
    files        file fileexists templatefile

Each takes evaluated arguments and returns a plain value, or raises FunctionError
with a sentence for the user. `try` and `can` catch errors, so they are evaluated
in kvmstate.config.evaluate. Paths are relative to the configuration's folder.

The role modules load on the first call of `library()` (the first function call of a
run), so files that call no function never import them (nor hashlib, json, uuid).
"""

from __future__ import annotations

from kvmstate.config.functions.base import FUNCTIONS, FunctionError, Spec, call, type_name

__all__ = ["FunctionError", "call", "library", "type_name"]


def library() -> dict[str, Spec]:
    """Every function by name; the first call imports the role modules, which register theirs."""
    from kvmstate.config.functions import collections, encoding, files, network, numbers, text  # noqa: F401
    return FUNCTIONS
