"""PyTorch: a trace-safe namespace and torch's fused kernels for the hot primitives.

array-api-compat's torch wrappers for two-argument functions given a Python scalar call
``torch.result_type`` and break ``torch.compile(fullgraph=True)``; they also cost tens of
microseconds per eager call. The namespace here is array-api-compat's with those entries
replaced by torch's own operators, whose scalar promotion is the standard's.
"""

from __future__ import annotations

import operator
import types

from . import _torch_functions
from ._generic import Backend, is_array


def _trace_safe_namespace():
    import array_api_compat.torch as compat
    import torch

    ns = types.SimpleNamespace(**{k: getattr(compat, k) for k in dir(compat) if not k.startswith("__")})

    def _scalar(v):
        return isinstance(v, (int, float, bool))

    def maximum(x1, x2):
        if _scalar(x2):
            return torch.clamp(x1, min=x2)
        if _scalar(x1):
            return torch.clamp(x2, min=x1)
        return torch.maximum(x1, x2)

    def minimum(x1, x2):
        if _scalar(x2):
            return torch.clamp(x1, max=x2)
        if _scalar(x1):
            return torch.clamp(x2, max=x1)
        return torch.minimum(x1, x2)

    def clip(x, /, min=None, max=None):
        if min is None and max is None:
            return x
        return torch.clamp(x, min=min, max=max)

    def _reduction(fn):
        def reduce(x, /, *, axis=None, keepdims=False, **kw):
            if axis is None:
                if not keepdims:
                    return fn(x, **kw)
                return fn(x, **kw).reshape((1,) * x.ndim)
            return fn(x, dim=axis, keepdim=keepdims, **kw)

        return reduce

    ns.add, ns.subtract, ns.multiply = operator.add, operator.sub, operator.mul
    ns.divide, ns.pow = operator.truediv, operator.pow
    ns.maximum, ns.minimum, ns.clip = maximum, minimum, clip
    ns.where = torch.where
    ns.sum, ns.mean = _reduction(torch.sum), _reduction(torch.mean)
    ns.sign = torch.sign
    return ns


#: elements from which an eager fast path that saves whole-array passes pays for its overhead
_LARGE = 1 << 16


class TorchBackend(Backend):
    name = "torch"
    has_autodiff = True

    def __init__(self) -> None:
        import torch

        super().__init__(_trace_safe_namespace())
        self._torch = torch
        # the kernels under torch.nn.functional's loss wrappers, called with the reduction's
        # enum: each wrapper's Python (its __torch_function__ test, size compares, and for the
        # regression losses a broadcast_tensors call) costs a small eager training step
        # 1-3 us, and the losses have checked what it checks
        self._nn = torch._C._nn
        self.array_types = (torch.Tensor, torch.nn.Parameter)
        self._integers = frozenset(
            getattr(torch, n) for n in ("uint8", "int8", "int16", "int32", "int64", "uint16", "uint32", "uint64")
            if hasattr(torch, n))

    def is_floating(self, dtype):
        return dtype.is_floating_point

    def is_integer(self, dtype):
        return dtype in self._integers

    def _functorch(self, x):
        """Inside a torch.func transform (grad, vmap: any tensor), or ``x`` is one's wrapped tensor."""
        functorch = self._torch._C._functorch
        return functorch.peek_interpreter_stack() is not None or functorch.is_functorch_wrapped_tensor(x)

    def _plain_eager(self, x):
        """Eager, outside torch.func transforms and autocast: where the autograd.Functions of
        ``_torch_functions`` run (autocast would run their matmul in low precision)."""
        return not self.is_traced(x) and not self._torch.is_autocast_enabled(x.device.type)

    def is_traced(self, x):
        """Compiling, or a torch.func transform (grad, vmap) wraps ``x``: no data to read."""
        return self._torch.compiler.is_compiling() or self._functorch(x)

    def is_host(self, x):
        return x.is_cpu

    def to_host(self, x):
        return x.detach().numpy()

    def outside(self, x, lo, hi, anywhere=False):
        """One flat path: a small eager training step pays for every call and test here, so it
        does not go through ``can_read`` and ``value_range`` (in such a step, with the caches
        cold from the backward, a checked array of 512 values cost 11-13 us through those
        layers and costs about 10 here, 8.5-9 of it ``aminmax`` and the two reads:
        ``benchmarks/probes/value_checks.py``).

        A few values (at most 32) are read as Python numbers, 1-2 us sooner than ``aminmax``
        and two ``.item()``; more by ``aminmax``. Inside ``torch.func.grad`` a tensor holds
        data and is read like any other; where a torch.func transform cannot give values (a
        ``vmap`` batch, a list read under ``functionalize``) the read raises a RuntimeError,
        and only then is the transform looked for: such a tensor is skipped, any other
        error is raised."""
        torch = self._torch
        if not (anywhere or x.is_cpu) or torch.compiler.is_compiling():
            return False
        try:
            if x.numel() > 32:
                if x.dtype == torch.bool:
                    x = x.to(torch.uint8)
                low, high = torch.aminmax(x.detach() if x.requires_grad else x)
                return not (low.item() >= lo and high.item() <= hi)  # a NaN fails both
            values = (x if x.ndim == 1 else x.detach().reshape(-1)).tolist()
        except RuntimeError:
            if self._functorch(x):
                return False  # a vmap batch: no values to read
            raise
        if not values:
            return False
        # one sort of the fresh list (float comparisons specialised) costs about what min()
        # alone does; without a NaN its ends are the minimum and the maximum
        values.sort()
        low = values[0]
        if not (low >= lo and values[-1] <= hi):
            return True
        if type(low) is not float:
            return False  # integers and booleans: no NaN
        total = sum(values)  # NaN if a value is NaN (or +inf meets -inf: then look closer)
        return total != total and not all(v == v for v in values)

    def asarray(self, value, like, dtype=None):
        dtype = like.dtype if dtype is None else dtype
        if isinstance(value, (int, float, bool)):
            # torch.full writes on the device; as_tensor of host data would be a blocking copy
            return self._torch.full((), value, dtype=dtype, device=like.device)
        return self._torch.as_tensor(value, dtype=dtype, device=like.device)

    def abs(self, x):
        return self._torch.abs(x)

    def relu(self, x):
        return self._torch.relu(x)  # gradient 0 at 0, NaN stays NaN

    def softplus(self, x):
        return self._torch.logaddexp(x, self._torch.zeros_like(x))

    def log_sigmoid(self, x):
        return self._nn.log_sigmoid(x)  # F.logsigmoid itself

    def sigmoid(self, x):
        return self._torch.sigmoid(x)

    def logsumexp(self, x, axis=-1, keepdims=False):
        return self._torch.logsumexp(x, dim=axis, keepdim=keepdims)

    def log_softmax(self, x, axis=-1):
        return self._torch.log_softmax(x, dim=axis)

    def softmax(self, x, axis=-1):
        return self._torch.softmax(x, dim=axis)

    def take_along_axis(self, x, indices, axis=-1):
        if indices.dtype != self._torch.int64:
            indices = indices.long()  # torch indexes with int64 only; int32 labels are common
        if indices.ndim == x.ndim:
            return self._torch.gather(x, axis, indices)  # take_along_dim adds a remainder pass
        return self._torch.take_along_dim(x, indices, dim=axis)

    def kl_log_sum(self, log_p, log_q, axis):
        """Large and eager: one autograd.Function that writes 2 arrays forward (e^p, and p - q
        masked in place), sums with a batched dot and writes 2 for the gradients (the
        array-API form writes 4 and 5). Small (its Python overhead would dominate), traced
        (torch.compile fuses it; torch.func), under autocast or broadcast: the array-API form."""
        torch = self._torch
        if (log_p.shape != log_q.shape or log_p.numel() < _LARGE or not self._plain_eager(log_p)
                or self.is_traced(log_q)):
            # the array-API form with the mask written in place (-inf - -inf is a quiet NaN in
            # torch, so no second where; small eager calls pay for every op). Not vecdot:
            # autocast runs it in bfloat16
            diff = (log_p - log_q).masked_fill_(torch.isneginf(log_p), 0.0)
            return torch.sum(torch.exp(log_p) * diff, dim=axis)
        return _torch_functions.kl_log_sum().apply(log_p, log_q, axis)

    def increments(self, x, axis=-1):
        """One subtraction in place on a copy (the generic form's concat costs a copy more)."""
        out = x.clone()
        n = x.shape[axis]
        if n > 1:
            out.narrow(axis, 1, n - 1).sub_(x.narrow(axis, 0, n - 1))
        return out

    def cumsum(self, x, axis=-1):
        return self._torch.cumsum(x, dim=axis)

    def bce_with_logits(self, logits, target, pos_weight=None):
        return self._torch.binary_cross_entropy_with_logits(logits, target, None, pos_weight, 0)

    def fused_loss(self, kind, a, b, reduction, param):
        # torch's reduction enum (a literal expression: torch.compile guards no global for it)
        enum = 1 if reduction == "mean" else 2 if reduction == "sum" else 0
        nn = self._nn
        if kind == "cross_entropy":
            logits, labels, axis = a, b, param
            # no label is ignored: torch's default ignore_index, -100, is a label out of range
            # here, which the kernel then reports like any other (when value checks are off).
            # The ignore_index given instead, 1 - 2**63, is no float cast to int64 (NaN, ±inf
            # and overflows become -2**63 on x86; float64's step there is 1024), so a label
            # made from a NaN is reported too
            ignored = 1 - (1 << 63)
            if self._cpu_rows(logits, axis):
                x, y = logits.reshape(-1, logits.shape[-1]), labels.reshape(-1).long()
                if logits.requires_grad and self._torch.is_grad_enabled():
                    rows = _torch_functions.softmax_cross_entropy_rows().apply(x, y)
                else:
                    rows = _torch_functions.cross_entropy_chunks(x, y, ignored)
                rows = rows.reshape(labels.shape)
                if reduction == "none":
                    return rows
                return self._torch.sum(rows) if reduction == "sum" else self._torch.mean(rows)
            if axis != 1 and logits.ndim > 1:
                logits = self._torch.movedim(logits, axis, 1)
            if labels.dtype != self._torch.int64:
                labels = labels.long()
            return nn.cross_entropy_loss(logits, labels, None, enum, ignored, 0.0)
        if kind == "bce_with_logits":  # logits and target of one shape (binary_cross_entropy checks it)
            return self._torch.binary_cross_entropy_with_logits(a, b, None, param, enum)
        if a.shape != b.shape:
            return None  # the kernels would broadcast, then warn in the backward: the formula path broadcasts
        if kind == "kl_log":
            return self._kl_log_total(a, b, reduction, param)
        if kind == "mse":
            return nn.mse_loss(a, b, enum)
        if kind == "mae":
            return nn.l1_loss(a, b, enum)
        if kind == "huber":
            return nn.huber_loss(a, b, enum, param)
        if kind == "smooth_l1" and not is_array(param):
            # F.smooth_l1_loss's own branch: the kernel divides by beta
            return nn.l1_loss(a, b, enum) if param == 0.0 else nn.smooth_l1_loss(a, b, enum, param)
        return None

    def _kl_log_total(self, log_p, log_q, reduction, axis):
        """A few eager CPU values reduced to a scalar: torch's own ``kl_div`` (log_target), the
        ops of the peer, without the mask of -inf terms that costs the small training step two
        more ops forward and one more backward. It is exact where its total is not NaN: a
        term with p = -inf is e^p·(p - q) = 0·(-inf) = NaN in ``kl_div`` (0 here), so a NaN
        total (read on the host, free there) is recomputed by the masked form (None), which
        also keeps a NaN of the inputs. Elsewhere (large, traced or in a torch.func
        transform, on a device, unreduced): None, the masked form (``kl_log_sum``)."""
        if (reduction == "none" or not log_p.is_cpu or not 0 < log_p.numel() < _LARGE
                or self.is_traced(log_p)):
            return None  # (empty: the masked form, whose mean over no items is NaN)
        total = self._torch.kl_div(log_q, log_p, 2, log_target=True)  # F.kl_div's kernel, summed
        if reduction == "mean":
            total = total / (log_p.numel() // log_p.shape[axis])
        value = total.item()
        return None if value != value else total

    def _cpu_rows(self, logits, axis):
        """Whether cross entropy runs a chunk of rows at a time (``_torch_functions``): large
        contiguous CPU logits with the classes last, eagerly. With a gradient the chunked
        autograd.Function keeps and writes less for the backward; without one ``F.cross_entropy``
        runs chunk by chunk, so no array of the logits' size is written (on a CPU each is fresh
        memory, faulted in page by page on every call)."""
        return (logits.numel() >= _LARGE and logits.is_cpu and axis % logits.ndim == logits.ndim - 1
                and logits.is_contiguous() and self._plain_eager(logits))

    def kernel_checks_labels(self, logits, labels, axis):
        """CPU logits that ``fused_loss`` gives to torch's cross-entropy kernel (not to
        ``_cpu_rows``' function): eagerly the kernel's check raises IndexError for a label
        outside [0, K), as in ``F.cross_entropy`` (under ``vmap`` its batching rule raises
        gather's RuntimeError instead). One int64 value passes it, the ignore slot 1 - 2**63
        (see ``fused_loss``), as on a GPU, where labels are read only with value checks
        "always"; uint64 labels, which ``.long()`` could wrap onto it, are read instead. True
        under torch.compile too, where no value is read in any case. No test for torch.func
        transforms here: it cost the small training step 0.7 us and its compiled guard tree
        16 lines."""
        return logits.is_cpu and labels.dtype != self._torch.uint64 and not self._cpu_rows(logits, axis)

    def softmax_cross_entropy(self, logits, labels, axis=-1):
        """torch's cross-entropy kernel (``F.cross_entropy(reduction="none")`` with no label
        ignored), or on large CPU logits (``_cpu_rows``) a function that writes and keeps less."""
        return self.fused_loss("cross_entropy", logits, labels, "none", axis % logits.ndim)

    def sort(self, x, axis=-1):
        return self._torch.sort(x, dim=axis).values

    def sort_descending(self, x, axis=-1):
        """Large float32 (eager or compiled): one unstable sort of unique int64 keys (the value's
        order-preserving bits above the reversed position), about 25% faster on a CPU than
        torch's stable sort and the same permutation. Otherwise (small: the five extra
        operations would cost more than they save) torch's stable sort, values included."""
        torch = self._torch
        if (x.dtype != torch.float32 or x.ndim == 0 or x.numel() < _LARGE or x.shape[axis] >= 1 << 32
                or (not torch.compiler.is_compiling() and self._functorch(x))):
            return tuple(torch.sort(x, dim=axis, descending=True, stable=True))
        n = x.shape[axis]
        bits = (x.detach() + 0.0).view(torch.int32)  # + 0.0: -0.0 becomes +0.0, its tie
        bits = bits ^ ((bits >> 31) & 0x7FFFFFFF)  # negative floats: reversed, below the positive
        shape = [1] * x.ndim
        shape[axis] = n
        later_lower = torch.arange(n - 1, -1, -1, dtype=torch.int64, device=x.device).view(shape)
        perm = torch.sort((bits.to(torch.int64) << 32) | later_lower, dim=axis, descending=True).indices
        return self.take_along_axis(x, perm, axis=axis), perm

    def stop_gradient(self, x):
        return x.detach()

    def grad(self, fn, x):
        torch = self._torch
        if not x.requires_grad:
            x = x.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(fn(x), x, create_graph=True)
        return g
