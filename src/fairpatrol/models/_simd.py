"""Explicit SIMD vectors of doubles for numba kernels: a value type held in one vector register.

numba's loop vectoriser turns a loop over lanes into SIMD code only when it can prove (or check at run
time) that the arrays it reads and writes do not overlap, only for trip counts it can split into whole
vectors, and it keeps every running sum in memory. The Hawkes kernels instead work on :data:`vec`, a
``WIDTH``-wide vector of float64 that LLVM keeps in registers (``<WIDTH x double>``): a kernel written with
it is straight-line vector code, whatever the compiler can prove, and its state stays in registers across
the loop over events. ``WIDTH`` is 8 on CPUs with AVX-512 and 4 otherwise (AVX2; 8 would not fit the 16
AVX2 registers). Every lane of a vector does the same operations in the same order, so a lane's numbers
do not depend on the other lanes of its vector.

Operations: ``+ - * /`` between vectors and with floats, :func:`splat`, :func:`load` / :func:`store`
(``WIDTH`` consecutive elements of a row of a 2-D C-contiguous array), :func:`positive_or`,
:func:`where_positive`, :func:`exp_neg`, :func:`log_pos`, :func:`frexp2`. Arithmetic may fuse a multiply
and an add into one FMA instruction
(LLVM's ``contract`` flag) and nothing else: no reassociation, so sums are taken in the order written.
"""

from __future__ import annotations

import operator

from llvmlite import binding as llvm
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, lower_builtin, models, register_model, type_callable

WIDTH = 8 if llvm.get_host_cpu_features().get("avx512f", False) else 4
_FLAGS = ("contract",)
_F64 = ir.DoubleType()
_I64 = ir.IntType(64)
_VF = ir.VectorType(_F64, WIDTH)
_VI = ir.VectorType(_I64, WIDTH)


class VecType(types.Type):
    """numba type of a vector of ``WIDTH`` float64 values."""

    def __init__(self) -> None:
        super().__init__(name=f"f64x{WIDTH}")


vec = VecType()


@register_model(VecType)
class _VecModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _VF)


def _const(value: float) -> ir.Constant:
    return ir.Constant(_VF, [value] * WIDTH)


def _iconst(value: int) -> ir.Constant:
    return ir.Constant(_VI, [value] * WIDTH)


def _splat_value(builder: ir.IRBuilder, x: ir.Value) -> ir.Value:
    undef = ir.Constant(_VF, ir.Undefined)
    one = builder.insert_element(undef, x, ir.Constant(ir.IntType(32), 0))
    return builder.shuffle_vector(one, undef, ir.Constant(ir.VectorType(ir.IntType(32), WIDTH), [0] * WIDTH))


def _row_pointer(context, builder, aryty, ary, i, j):
    arr = context.make_array(aryty)(context, builder, ary)
    return cgutils.get_item_pointer(context, builder, aryty, arr, [i, j], wraparound=False)


@intrinsic
def splat(typingctx, x):
    """A vector with every lane equal to the float ``x``."""
    if not isinstance(x, types.Float):
        return None

    def codegen(context, builder, sig, args):
        return _splat_value(builder, context.cast(builder, args[0], sig.args[0], types.float64))

    return vec(x), codegen


def _is_2d_c(arr: types.Type, *dtypes: types.Type) -> bool:
    return isinstance(arr, types.Array) and arr.ndim == 2 and arr.layout == "C" and arr.dtype in dtypes


@intrinsic
def load(typingctx, arr, i, j):
    """``arr[i, j : j + WIDTH]`` of a 2-D C-contiguous float64 or float32 array, as float64 (no bounds
    check)."""
    if not _is_2d_c(arr, types.float64, types.float32):
        return None
    single = arr.dtype == types.float32

    def codegen(context, builder, sig, args):
        ptr = _row_pointer(context, builder, sig.args[0], args[0], args[1], args[2])
        if not single:
            return builder.load(builder.bitcast(ptr, _VF.as_pointer()), align=8)
        v32 = builder.load(builder.bitcast(ptr, ir.VectorType(ir.FloatType(), WIDTH).as_pointer()), align=4)
        return builder.fpext(v32, _VF)

    return vec(arr, i, j), codegen


@intrinsic
def store(typingctx, arr, i, j, v):
    """``arr[i, j : j + WIDTH] = v`` for a 2-D C-contiguous float64 array (no bounds check)."""
    if not (_is_2d_c(arr, types.float64) and v == vec):
        return None

    def codegen(context, builder, sig, args):
        ptr = _row_pointer(context, builder, sig.args[0], args[0], args[1], args[2])
        builder.store(args[3], builder.bitcast(ptr, _VF.as_pointer()), align=8)
        return context.get_dummy_value()

    return types.none(arr, i, j, v), codegen


_SCALARS = (types.Float, types.Integer)
_OPS = {
    operator.add: "fadd",
    operator.sub: "fsub",
    operator.mul: "fmul",
    operator.truediv: "fdiv",
    operator.iadd: "fadd",
    operator.isub: "fsub",
    operator.imul: "fmul",
    operator.itruediv: "fdiv",
}


def _register(op, opname: str) -> None:
    """Typing and lowering of ``op`` between vectors and with scalars (a scalar acts on every lane):
    direct code generation, nothing compiled per use."""

    @type_callable(op)
    def _typer(context):
        def typer(a, b):
            if (a == vec and (b == vec or isinstance(b, _SCALARS))) or (isinstance(a, _SCALARS) and b == vec):
                return vec
            return None

        return typer

    def _operand(context, builder, ty, value):
        return value if ty == vec else _splat_value(builder, context.cast(builder, value, ty, types.float64))

    def _lower(context, builder, sig, args):
        a = _operand(context, builder, sig.args[0], args[0])
        b = _operand(context, builder, sig.args[1], args[1])
        return getattr(builder, opname)(a, b, flags=_FLAGS)

    for left, right in ((VecType, VecType), (VecType, types.Float), (VecType, types.Integer)):
        lower_builtin(op, left, right)(_lower)
        lower_builtin(op, right, left)(_lower)


for _op, _name in _OPS.items():
    _register(_op, _name)


@intrinsic
def positive_or(typingctx, x, other):
    """Lane-wise ``x if x > 0 else other`` (``other`` a float)."""
    if x != vec or not isinstance(other, types.Float):
        return None

    def codegen(context, builder, sig, args):
        pos = builder.fcmp_ordered(">", args[0], _const(0.0))
        return builder.select(pos, args[0], _splat_value(builder, args[1]))

    return vec(x, other), codegen


_LOG2E = 1.4426950408889634
_LN2 = 0.6931471805599453


@intrinsic
def exp_neg(typingctx, x):
    """Lane-wise e^x for x ≤ 0 (relative error < 1e-11; x < −708 gives a value below 3e-308).

    e^x = 2^y with y = x log₂e, split as 2^k · 2^f with k = round(y) and f ∈ [−½, ½]: the power of two
    is built from its exponent bits, 2^f from the degree-9 Taylor polynomial of e^z at z = f ln 2.
    """
    if x != vec:
        return None

    def codegen(context, builder, sig, args):
        b = builder
        y = b.fmul(args[0], _const(_LOG2E), flags=_FLAGS)
        y = b.select(b.fcmp_ordered("<", y, _const(-1022.0)), _const(-1022.0), y)
        ki = b.fptosi(b.fadd(y, _const(1023.5), flags=_FLAGS), _VI)  # round(y) + 1023 ∈ [1, 1023]
        kf = b.fsub(b.sitofp(ki, _VF), _const(1023.0), flags=_FLAGS)
        z = b.fmul(b.fsub(y, kf, flags=_FLAGS), _const(_LN2), flags=_FLAGS)
        p = _const(1.0 / 362880.0)
        for c in (40320.0, 5040.0, 720.0, 120.0, 24.0, 6.0, 2.0, 1.0, 1.0):
            p = b.fadd(_const(1.0 / c), b.fmul(z, p, flags=_FLAGS), flags=_FLAGS)
        scale = b.bitcast(b.shl(ki, _iconst(52)), _VF)
        return b.fmul(p, scale, flags=_FLAGS)

    return vec(x), codegen


# log(1 + f) = 2 atanh(s), s = f / (2 + f): the minimax polynomial of fdlibm's e_log.c (Sun Microsystems,
# 1993), error < 2^-58.45 on |s| ≤ 0.1716
_LG = (
    6.666666666666735130e-01,
    3.999999999940941908e-01,
    2.857142874366239149e-01,
    2.222219843214978396e-01,
    1.818357216161805012e-01,
    1.531383769920937332e-01,
    1.479819860511658591e-01,
)
_SQRT_HALF_BITS = 0x3FE6A09E667F3BCD


def _split(b: ir.IRBuilder, x: ir.Value) -> tuple[ir.Value, ir.Value]:
    """x = 2^k m with m ∈ [√½, √2) for positive normal x: (k as a vector of int64, m)."""
    bits = b.bitcast(x, _VI)
    k = b.ashr(b.sub(bits, _iconst(_SQRT_HALF_BITS)), _iconst(52))
    return k, b.bitcast(b.sub(bits, b.shl(k, _iconst(52))), _VF)


def _log_mantissa(b: ir.IRBuilder, k: ir.Value, m: ir.Value) -> ir.Value:
    """log(2^k m) for m ∈ [√½, √2)."""
    f = b.fsub(m, _const(1.0), flags=_FLAGS)
    s = b.fdiv(f, b.fadd(f, _const(2.0), flags=_FLAGS), flags=_FLAGS)
    z = b.fmul(s, s, flags=_FLAGS)
    w = b.fmul(z, z, flags=_FLAGS)
    odd = _const(_LG[6])
    for c in (_LG[4], _LG[2], _LG[0]):
        odd = b.fadd(_const(c), b.fmul(w, odd, flags=_FLAGS), flags=_FLAGS)
    even = _const(_LG[5])
    for c in (_LG[3], _LG[1]):
        even = b.fadd(_const(c), b.fmul(w, even, flags=_FLAGS), flags=_FLAGS)
    r = b.fadd(b.fmul(z, odd, flags=_FLAGS), b.fmul(w, even, flags=_FLAGS), flags=_FLAGS)
    hfsq = b.fmul(_const(0.5), b.fmul(f, f, flags=_FLAGS), flags=_FLAGS)
    log_m = b.fsub(f, b.fsub(hfsq, b.fmul(s, b.fadd(hfsq, r, flags=_FLAGS), flags=_FLAGS), flags=_FLAGS))
    return b.fadd(b.fmul(b.sitofp(k, _VF), _const(_LN2), flags=_FLAGS), log_m, flags=_FLAGS)


@intrinsic
def log_pos(typingctx, x):
    """Lane-wise natural logarithm of positive normal numbers (relative error ≈ 1e-16).

    x = 2^k m with m ∈ [√½, √2) (from the exponent bits), log m = log(1 + f) by fdlibm's polynomial in
    s = f / (2 + f).
    """
    if x != vec:
        return None

    def codegen(context, builder, sig, args):
        k, m = _split(builder, args[0])
        return _log_mantissa(builder, k, m)

    return vec(x), codegen


@intrinsic
def frexp2(typingctx, x):
    """Lane-wise (m, e) with x = m 2^e, m ∈ [√½, √2) and e an integer (as a float), for positive normal x:
    keeps a running product of many factors within range without a logarithm per factor."""
    if x != vec:
        return None

    def codegen(context, builder, sig, args):
        k, m = _split(builder, args[0])
        return context.make_tuple(builder, sig.return_type, (m, builder.sitofp(k, _VF)))

    return types.UniTuple(vec, 2)(x), codegen


@intrinsic
def where_positive(typingctx, c, a, b):
    """Lane-wise ``a if c > 0 else b``."""
    if not (c == vec and a == vec and b == vec):
        return None

    def codegen(context, builder, sig, args):
        return builder.select(builder.fcmp_ordered(">", args[0], _const(0.0)), args[1], args[2])

    return vec(c, a, b), codegen
