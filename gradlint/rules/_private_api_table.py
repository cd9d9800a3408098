"""Public equivalents of private torch names, for GL002's messages and fixes.

``fix=True`` only where the public name is the same object or a documented wrapper with the
same signature and behaviour (the fix is then safe). Everything else is named in the message
so a user can act on it, but not rewritten.
"""

from __future__ import annotations

from dataclasses import dataclass

RUNTIME = "{runtime}"


@dataclass(frozen=True, slots=True)
class PublicEquivalent:
    name: str
    fix: bool = False
    note: str = ""
    # The private name is a module whose public twin has the same members.
    same_members: bool = False


PUBLIC_EQUIVALENTS: dict[str, PublicEquivalent] = {
    # Fused norm: the runtime uses the private op when it works and falls back otherwise.
    "torch._foreach_norm": PublicEquivalent(f"{RUNTIME}.foreach_norm", fix=True),
    # torch.compiler re-exports these dynamo entry points.
    "torch._dynamo.disable": PublicEquivalent("torch.compiler.disable", fix=True),
    "torch._dynamo.is_compiling": PublicEquivalent("torch.compiler.is_compiling", fix=True),
    "torch._dynamo.allow_in_graph": PublicEquivalent("torch.compiler.allow_in_graph", fix=True),
    "torch._dynamo.assume_constant_result": PublicEquivalent(
        "torch.compiler.assume_constant_result", fix=True
    ),
    "torch._dynamo.list_backends": PublicEquivalent("torch.compiler.list_backends", fix=True),
    "torch._dynamo.reset": PublicEquivalent("torch.compiler.reset"),
    "torch._dynamo.optimize": PublicEquivalent("torch.compile"),
    "torch._dynamo.config": PublicEquivalent("torch.compiler.config"),
    "torch._dynamo": PublicEquivalent("torch.compiler"),
    "torch._utils.is_compiling": PublicEquivalent("torch.compiler.is_compiling"),
    "torch._jit_internal.is_scripting": PublicEquivalent("torch.jit.is_scripting"),
    "torch._C._get_tracing_state": PublicEquivalent("torch.jit.is_tracing"),
    "torch._C._set_grad_enabled": PublicEquivalent("torch.set_grad_enabled"),
    "torch._C._nn": PublicEquivalent("torch.nn.functional"),
    "torch.nn.modules.batchnorm._BatchNorm": PublicEquivalent(
        "", note="no public base class; test against torch.nn.BatchNorm1d/2d/3d instead"
    ),
    "torch.utils._pytree": PublicEquivalent(
        "", note="no public module in torch 2.13; guard the import or use optree"
    ),
    "torch._six.inf": PublicEquivalent("torch.inf"),
    "torch._six": PublicEquivalent("the standard library (math.inf, collections.abc)"),
    "torch.distributed._all_gather_base": PublicEquivalent(
        "torch.distributed.all_gather_into_tensor"
    ),
    "torch.distributed._reduce_scatter_base": PublicEquivalent(
        "torch.distributed.reduce_scatter_tensor"
    ),
    "torch.distributed._tensor": PublicEquivalent("torch.distributed.tensor", same_members=True),
    "torch.distributed._composable.fsdp": PublicEquivalent(
        "torch.distributed.fsdp.fully_shard"
    ),
    "torch.optim.lr_scheduler._LRScheduler": PublicEquivalent(
        "torch.optim.lr_scheduler.LRScheduler"
    ),
    "torch.nn.utils._stateless.functional_call": PublicEquivalent("torch.func.functional_call"),
    "torch.testing._internal": PublicEquivalent("torch.testing"),
    "torch._assert_async": PublicEquivalent("", note="no public equivalent; keep a fallback"),
}


# Underscore names that torch's own API reference lists as supported public API: with the
# ``documented-private-is-public`` option (on by default) GL002 does not report them.
DOCUMENTED = frozenset(
    {
        "torch._assert",
        "torch._logging.set_logs",
    }
)


def public_equivalent(qualified: str) -> tuple[str, PublicEquivalent] | None:
    """The longest table entry that is ``qualified`` or a dotted prefix of it."""
    probe = qualified
    while True:
        entry = PUBLIC_EQUIVALENTS.get(probe)
        if entry is not None:
            return probe, entry
        probe, dot, _ = probe.rpartition(".")
        if not dot:
            return None
