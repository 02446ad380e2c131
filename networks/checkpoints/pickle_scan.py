"""A pass over a pickle's opcodes that builds nothing, run before unpickling.

Python's unpickler trusts the numbers a stream carries: a 9-byte pickle that stores an object
under memo index 375,000,000 makes it allocate a 3 GB table, and a dict key that is a tuple
nested a million deep crashes the interpreter when it is hashed. This scan walks the stream
opcode by opcode, tracking only a depth and a size for each stack entry, and refuses:
  * lengths (strings, bytes, frames) that reach past the end of the file;
  * memo indices beyond what the rest of the stream could define, and reads of unset ones;
  * containers nested deeper than `MAX_DEPTH`, a stack or memo bigger than any checkpoint needs,
    more Python objects (by an estimate of their size) than any checkpoint builds;
  * hashing that would cost more than the file could justify (tuples of shared tuples used
    as keys, "billion laughs" style), and more non-string keys than a checkpoint holds;
  * opcodes no checkpoint uses (persistent ids, extension codes, out-of-band buffers).
The depth of a list or dict read back from the memo is the depth it had when stored, so deep
mutable nesting can escape the count; code that walks unpickled data bounds its own depth.
Tuples are immutable, so their depth and size (what hashing walks) are exact.
"""
import pickletools

from eqviz.errors import CheckpointError

MAX_DEPTH = 200                 # NVIDIA snapshots nest about 30 deep
MAX_STACK = 1_000_000           # stack entries (pickle batches containers by 1000)
MAX_MEMO = 20_000_000           # memo entries (a 1 GB snapshot uses about 100,000)
MAX_HASH_WORK = 20_000_000      # tuple elements hashed in all, summed over every key
MAX_NON_STRING_KEYS = 10_000    # dict keys / set items that are not strings (their hashes are not salted)
MAX_LONG_BYTES = 1024           # LONG1/LONG4 integer size
MAX_BUILT_BYTES = 256 << 20     # Python objects the stream builds, estimated (array and storage bytes apart)
HIGHEST_PROTOCOL = 5

_CAP = MAX_HASH_WORK + 1

# Stack entries are (depth, hash weight, kind). Kinds: hash salted and cached (str, bytes) /
# other hashable scalars / tuples (hashing walks them) / anything else.
_STR, _SCALAR, _TUPLE, _OTHER = 0, 1, 2, 3
_STR_ENTRY = (0, 1, _STR)
_SCALAR_ENTRY = (0, 1, _SCALAR)
_OTHER_ENTRY = (0, 1, _OTHER)
_EMPTY_CONTAINER_ENTRY = (1, 1, _OTHER)
_EMPTY_TUPLE_ENTRY = (1, 1, _TUPLE)

_PERSISTENT_IDS = ("pickle persistent ids (a torch.save archive or another format), which StyleGAN network pickles "
                   "never use")
_REFUSED = {
    "PERSID": _PERSISTENT_IDS,
    "BINPERSID": _PERSISTENT_IDS,
    "EXT1": "pickle extension codes, which no checkpoint uses",
    "EXT2": "pickle extension codes, which no checkpoint uses",
    "EXT4": "pickle extension codes, which no checkpoint uses",
    "NEXT_BUFFER": "out-of-band pickle buffers, which a file cannot carry",
    "READONLY_BUFFER": "out-of-band pickle buffers, which a file cannot carry",
}
_BINPERSID = ord("Q")
_COUNTED = {pickletools.TAKEN_FROM_ARGUMENT1: (1, False), pickletools.TAKEN_FROM_ARGUMENT4: (4, True),
            pickletools.TAKEN_FROM_ARGUMENT4U: (4, False), pickletools.TAKEN_FROM_ARGUMENT8U: (8, False)}
_NAMES = [None] * 256       # per opcode byte: its name
_FIXED = [0] * 256          # argument bytes of a fixed-size argument
_COUNTED_ARG = [None] * 256  # (length field width, signed) of a counted argument
_TEXT_LINES = [0] * 256     # newline-terminated text arguments
_POPS = [2] * 256           # objects a fixed-arity opcode takes off the stack
for _op in pickletools.opcodes:
    _code = ord(_op.code)
    _n = _op.arg.n if _op.arg is not None else 0
    _NAMES[_code] = _op.name
    _FIXED[_code] = max(_n, 0)
    _COUNTED_ARG[_code] = _COUNTED.get(_n)
    if _n == pickletools.UP_TO_NEWLINE:
        _TEXT_LINES[_code] = 2 if _op.name in ("GLOBAL", "INST") else 1
    _POPS[_code] = {"TUPLE1": 1, "TUPLE2": 2, "TUPLE3": 3, "APPEND": 1, "SETITEM": 2, "NEWOBJ_EX": 3}.get(_op.name, 2)
del _op, _code, _n

# Bytes of the Python containers an opcode builds, roughly as CPython 3.11 sizes them (64-bit): what
# lets a 7 MB stream of one-byte EMPTY_SETs ask for 1.8 GB. Items added cost a slot each. (Scalars and
# strings cost at most a few times their bytes in the file, and the stack and memo are capped.)
_CONTAINER_BYTES = {"EMPTY_SET": 216, "FROZENSET": 216, "EMPTY_DICT": 64, "DICT": 64, "EMPTY_LIST": 56,
                    "LIST": 56, "TUPLE1": 48, "TUPLE2": 56, "TUPLE3": 64, "TUPLE": 40, "REDUCE": 64, "NEWOBJ": 64,
                    "NEWOBJ_EX": 64, "OBJ": 64, "INST": 64}
_COST = [0] * 256
for _op in pickletools.opcodes:
    _COST[ord(_op.code)] = _CONTAINER_BYTES.get(_op.name, 0)
del _op
_ITEM_SLOT = 16  # a list slot (8) or a share of a dict/set table entry, per item added


class PickleScanError(CheckpointError):
    """The opcode stream is malformed or asks for more than a checkpoint could need."""


def _corrupt(what: str) -> PickleScanError:
    return PickleScanError(f"the pickle is corrupt ({what})")


def _decimal(text: bytes) -> int:
    if len(text) > 20 or not text.strip().isdigit():
        raise _corrupt("a memo index is not a small whole number")
    return int(text)


def _built_too_much() -> PickleScanError:
    return PickleScanError(f"the pickle builds more than {MAX_BUILT_BYTES >> 20} MB of Python objects (besides its "
                           "arrays), which no checkpoint does; it is crafted to exhaust memory")


def _stack_full() -> PickleScanError:
    return PickleScanError(f"the pickle keeps more than {MAX_STACK:,} objects on its stack, which no checkpoint does")


def scan_pickle(data: bytes, start: int = 0, persistent_ids: bool = False) -> int:
    """Where the pickle that starts at `start` in `data` ends (just past its STOP); raises
    PickleScanError unless it is a well-formed stream within the limits above. `persistent_ids`
    admits BINPERSID (torch's storage headers use it). Allocates at most a fixed multiple of its
    opcode count.

    The loop reads each opcode and its fixed-size argument; the opcode's handler (`_HANDLERS`, one
    small function per kind of stack effect) checks the rest and returns where the next opcode starts."""
    scan = _Scan(data, persistent_ids)
    end, handlers, fixed_sizes = scan.end, _HANDLERS, _FIXED
    pos = start
    while pos >= 0:
        if pos >= end:
            raise PickleScanError("the pickle is truncated (it ends before its STOP opcode)")
        code = data[pos]
        arg = pos + 1
        pos = arg + fixed_sizes[code]
        if pos > end:
            raise PickleScanError("the pickle is truncated (an argument is cut off)")
        pos = handlers[code](scan, code, arg, pos)
    if scan.max_put >= scan.puts:
        raise PickleScanError(f"the pickle stores memo entry {scan.max_put:,} but defines only {scan.puts:,}; it is "
                              "crafted to exhaust memory")
    return scan.stopped_at


class _Scan:
    """The abstract machine's state (stack entries, see _STR_ENTRY; marks; memo) and the budgets spent."""

    __slots__ = ("data", "end", "persistent_ids", "stack", "marks", "memo", "fence", "puts", "max_put",
                 "hash_work", "non_string", "built", "stopped_at")

    def __init__(self, data: bytes, persistent_ids: bool):
        self.data, self.end, self.persistent_ids = data, len(data), persistent_ids
        self.stack = []         # stack entries
        self.marks = []         # stack lengths at each MARK
        self.memo = []          # entries stored with PUT / MEMOIZE
        self.fence = 0          # stack length at the innermost mark
        self.puts = 0
        self.max_put = -1
        self.hash_work = 0
        self.non_string = 0
        self.built = 0          # estimated bytes of the objects built so far, see _COST
        self.stopped_at = -1    # where the stream ends, once STOP is read

    def push(self, entry: tuple) -> None:
        stack = self.stack
        stack.append(entry)
        if len(stack) > MAX_STACK:
            raise _stack_full()

    def hashed(self, entries) -> None:
        """Dict keys or set items: non-string ones are counted, and so is the work of hashing tuples."""
        for _, weight, kind in entries:
            if kind != _STR:
                self.non_string += 1
                self.hash_work += weight
        if self.non_string > MAX_NON_STRING_KEYS:
            raise PickleScanError(f"the pickle uses more than {MAX_NON_STRING_KEYS:,} non-string dict keys or set "
                                  "items, which no checkpoint does")
        if self.hash_work > MAX_HASH_WORK:
            raise PickleScanError("the pickle's dict keys or set items are tuples that would take too long to hash "
                                  "(shared tuples nested inside each other)")

    def spend(self, nbytes: int) -> None:
        self.built += nbytes
        if self.built > MAX_BUILT_BYTES:
            raise _built_too_much()

    def take(self, code: int, pops: int) -> list:
        """The top `pops` entries above the mark, removed (a fixed-arity opcode's operands)."""
        stack = self.stack
        if len(stack) - self.fence < pops:
            raise _corrupt(f"{_NAMES[code]} finds too few objects on the stack")
        items = stack[-pops:]
        del stack[-pops:]
        self.built += _COST[code]
        if self.built > MAX_BUILT_BYTES:
            raise _built_too_much()
        return items

    def take_marked(self, code: int) -> list:
        """The entries above the innermost mark, removed with the mark (a variable-arity opcode's operands)."""
        if not self.marks:
            raise _corrupt(f"{_NAMES[code]} without a mark")
        stack = self.stack
        items = stack[self.fence:]
        del stack[self.fence:]
        self.fence = self.marks.pop()
        self.spend(_COST[code] + _ITEM_SLOT * len(items))
        return items

    def skip_argument(self, code: int, start: int) -> int:
        """Position after a counted or text argument that starts at `start`."""
        data, end = self.data, self.end
        counted = _COUNTED_ARG[code]
        if counted is not None:
            width, signed = counted
            if start + width > end:
                raise PickleScanError("the pickle is truncated (a length field is cut off)")
            length = int.from_bytes(data[start:start + width], "little", signed=signed)
            start += width
            if length < 0 or length > end - start:
                raise PickleScanError(f"the pickle declares a {length:,}-byte value at byte {start - width - 1} "
                                      f"but only {end - start:,} bytes follow; it is truncated or corrupt")
            if length > MAX_LONG_BYTES and _NAMES[code] in ("LONG1", "LONG4"):
                raise PickleScanError(f"the pickle holds a {length:,}-byte integer, which no checkpoint does")
            return start + length
        for _ in range(_TEXT_LINES[code]):
            stop = data.find(b"\n", start, end)
            if stop < 0:
                raise PickleScanError("the pickle is truncated (a text argument has no end)")
            start = stop + 1
        return start

    def memo_index(self, code: int, arg: int, pos: int) -> tuple[int, int]:
        """(memo index, position after it) of GET / PUT (text) or their binary forms (`pos` past the index)."""
        if pos == arg:
            pos = self.skip_argument(code, arg)
            return _decimal(self.data[arg:pos - 1]), pos
        return int.from_bytes(self.data[arg:pos], "little"), pos


def _depth(items: list) -> int:
    """The deepest of these stack entries' depths (entries compare by depth first), 0 for none."""
    return max(items)[0] if items else 0


def _container(depth: int, weight: int, kind: int) -> tuple:
    if depth > MAX_DEPTH:
        raise PickleScanError(f"the pickle nests containers more than {MAX_DEPTH} deep, which no checkpoint does")
    return depth, (weight if weight < _CAP else _CAP), kind


# ---- Opcode handlers: (scan, opcode byte, argument start, position after its fixed argument) -> next position.
# The pushes that every checkpoint makes thousands of times (GET, small ints, strings) are inline.
def _pushing(entry: tuple, argument: bool):
    """The handler of an opcode that pushes `entry`, after a counted or text argument if `argument`."""
    if argument:
        def push(scan, code, arg, pos):
            pos = scan.skip_argument(code, arg)
            stack = scan.stack
            stack.append(entry)
            if len(stack) > MAX_STACK:
                raise _stack_full()
            return pos
    else:
        def push(scan, code, arg, pos):
            stack = scan.stack
            stack.append(entry)
            if len(stack) > MAX_STACK:
                raise _stack_full()
            return pos
    return push


def _empty(scan, code, arg, pos):  # EMPTY_LIST / EMPTY_DICT / EMPTY_SET
    scan.spend(_COST[code])
    scan.push(_EMPTY_CONTAINER_ENTRY)
    return pos


def _dup(scan, code, arg, pos):
    stack = scan.stack
    if len(stack) <= scan.fence:
        raise _corrupt("DUP on an empty stack")
    scan.push(stack[-1])
    return pos


def _get(scan, code, arg, pos):
    if pos == arg:
        index, pos = scan.memo_index(code, arg, pos)
    else:
        index = int.from_bytes(scan.data[arg:pos], "little")
    memo, stack = scan.memo, scan.stack
    if index >= len(memo) or memo[index] is None:
        raise PickleScanError(f"the pickle reads memo entry {index:,} before storing it; it is corrupt or crafted")
    stack.append(memo[index])
    if len(stack) > MAX_STACK:
        raise _stack_full()
    return pos


def _put(scan, code, arg, pos):
    stack = scan.stack
    if len(stack) <= scan.fence:
        raise _corrupt("it stores a missing object in its memo")
    index, pos = scan.memo_index(code, arg, pos)
    scan.puts += 1
    # Every memo entry costs at least one opcode byte: an index beyond what the rest of the stream
    # could define is never read back, only allocated.
    if index > scan.puts + (scan.end - pos) or index >= MAX_MEMO:
        raise PickleScanError(f"the pickle stores memo entry {index:,}, more than its {scan.end:,} bytes could "
                              "ever use; it is crafted to exhaust memory")
    if index > scan.max_put:
        scan.max_put = index
    memo = scan.memo
    if index >= len(memo):
        memo.extend([None] * (index + 1 - len(memo)))
    memo[index] = stack[-1]
    return pos


def _memoize(scan, code, arg, pos):
    stack, memo = scan.stack, scan.memo
    if len(stack) <= scan.fence:
        raise _corrupt("it stores a missing object in its memo")
    scan.puts += 1
    if len(memo) >= MAX_MEMO:
        raise PickleScanError(f"the pickle stores more than {MAX_MEMO:,} objects in its memo, which no checkpoint does")
    memo.append(stack[-1])
    return pos


def _mark(scan, code, arg, pos):
    scan.marks.append(scan.fence)
    scan.fence = len(scan.stack)
    if len(scan.marks) > MAX_DEPTH:
        raise PickleScanError(f"the pickle nests marks more than {MAX_DEPTH} deep, which no checkpoint does")
    return pos


def _call(scan, code, arg, pos):  # REDUCE, NEWOBJ, NEWOBJ_EX, STACK_GLOBAL: an object from its operands
    items = scan.take(code, _POPS[code])
    scan.stack.append(_container(1 + _depth(items), 1, _OTHER))
    return pos


def _build(scan, code, arg, pos):  # an object and its state
    items = scan.take(code, 2)
    scan.stack.append(_container(max(items[0][0], 1 + items[1][0]), 1, _OTHER))
    return pos


def _tuple_n(scan, code, arg, pos):  # TUPLE1..3
    items = scan.take(code, _POPS[code])
    scan.stack.append(_container(1 + _depth(items), 1 + sum(w for _, w, _ in items), _TUPLE))
    return pos


def _tuple(scan, code, arg, pos):  # the items since the mark
    items = scan.take_marked(code)
    scan.stack.append(_container(1 + _depth(items), 1 + sum(w for _, w, _ in items), _TUPLE))
    return pos


def _single(scan, code, arg, pos):  # APPEND / SETITEM onto the container below
    pops = _POPS[code]
    if len(scan.stack) - scan.fence < pops + 1:
        raise _corrupt(f"{_NAMES[code]} finds too few objects on the stack")
    items = scan.take(code, pops)
    scan.spend(_ITEM_SLOT)
    if pops == 2:
        scan.hashed(items[:1])
    stack = scan.stack
    target = stack[-1]
    stack[-1] = _container(max(target[0], 1 + _depth(items)), 1, target[2])
    return pos


def _hash_keys(scan, name: str, items: list) -> None:
    """Dict keys (every other item of SETITEMS / DICT) and set items (ADDITEMS / FROZENSET) are hashed."""
    if name in ("SETITEMS", "DICT"):
        if len(items) % 2:
            raise _corrupt(f"{name} with an odd number of objects")
        scan.hashed(items[0::2])
    elif name in ("ADDITEMS", "FROZENSET"):
        scan.hashed(items)


def _batch(scan, code, arg, pos):  # APPENDS / SETITEMS / ADDITEMS: the items since the mark, into the container below
    name = _NAMES[code]
    items = scan.take_marked(code)
    _hash_keys(scan, name, items)
    stack = scan.stack
    if len(stack) <= scan.fence:
        raise _corrupt(f"{name} has no container to add to")
    target = stack[-1]
    stack[-1] = _container(max(target[0], 1 + _depth(items)), 1, target[2])
    return pos


def _from_mark(scan, code, arg, pos):  # LIST / DICT / FROZENSET of the items since the mark
    name = _NAMES[code]
    items = scan.take_marked(code)
    _hash_keys(scan, name, items)
    depth = 1 + _depth(items)
    scan.stack.append(_container(depth, 1 + len(items), _SCALAR) if name == "FROZENSET"
                      else _container(depth, 1, _OTHER))
    return pos


def _obj(scan, code, arg, pos):  # OBJ / INST: an object of the class and arguments since the mark
    if pos == arg:
        pos = scan.skip_argument(code, arg)  # INST names its class in text
    items = scan.take_marked(code)
    if _NAMES[code] == "OBJ" and not items:
        raise _corrupt("OBJ without a class")
    scan.stack.append(_container(1 + _depth(items), 1, _OTHER))
    return pos


def _pop_mark(scan, code, arg, pos):
    scan.take_marked(code)
    return pos


def _pop(scan, code, arg, pos):
    if len(scan.stack) > scan.fence:
        scan.stack.pop()
    elif scan.marks:
        scan.fence = scan.marks.pop()
    else:
        raise _corrupt("POP on an empty stack")
    return pos


def _proto(scan, code, arg, pos):
    if scan.data[arg] > HIGHEST_PROTOCOL:
        raise PickleScanError(f"the pickle uses protocol {scan.data[arg]}, newer than any Python writes")
    return pos


def _frame(scan, code, arg, pos):
    if int.from_bytes(scan.data[arg:pos], "little") > scan.end - pos:
        raise PickleScanError("the pickle declares a frame longer than the file; it is truncated or corrupt")
    return pos


def _stop(scan, code, arg, pos):
    if len(scan.stack) != 1 or scan.marks:
        raise _corrupt("it stops with an unfinished stack")
    scan.stopped_at = pos
    return -1


def _refuse(scan, code, arg, pos):  # opcodes no checkpoint uses; torch's storage headers use BINPERSID
    if code == _BINPERSID and scan.persistent_ids:
        if len(scan.stack) <= scan.fence:
            raise _corrupt("BINPERSID on an empty stack")
        scan.stack[-1] = _OTHER_ENTRY
        return pos
    raise PickleScanError(f"the file uses {_REFUSED[_NAMES[code]]}; refusing to load it")


def _not_an_opcode(scan, code, arg, pos):
    raise _corrupt(f"byte {arg - 1} is not a pickle opcode")


_push_str, _push_scalar, _push_number = (_pushing(_STR_ENTRY, True), _pushing(_SCALAR_ENTRY, False),
                                         _pushing(_SCALAR_ENTRY, True))
_HANDLER_OF_OPCODE = {
    "STRING": _push_str, "BINSTRING": _push_str, "SHORT_BINSTRING": _push_str, "BINBYTES": _push_str,
    "SHORT_BINBYTES": _push_str, "BINBYTES8": _push_str, "BYTEARRAY8": _push_str, "UNICODE": _push_str,
    "SHORT_BINUNICODE": _push_str, "BINUNICODE": _push_str, "BINUNICODE8": _push_str,
    "BININT": _push_scalar, "BININT1": _push_scalar, "BININT2": _push_scalar, "BINFLOAT": _push_scalar,
    "NONE": _push_scalar, "NEWTRUE": _push_scalar, "NEWFALSE": _push_scalar,
    "INT": _push_number, "LONG": _push_number, "FLOAT": _push_number, "LONG1": _push_number, "LONG4": _push_number,
    "GLOBAL": _pushing(_OTHER_ENTRY, True), "EMPTY_TUPLE": _pushing(_EMPTY_TUPLE_ENTRY, False),
    "EMPTY_LIST": _empty, "EMPTY_DICT": _empty, "EMPTY_SET": _empty, "DUP": _dup,
    "GET": _get, "BINGET": _get, "LONG_BINGET": _get, "PUT": _put, "BINPUT": _put, "LONG_BINPUT": _put,
    "MEMOIZE": _memoize, "MARK": _mark,
    "REDUCE": _call, "NEWOBJ": _call, "STACK_GLOBAL": _call, "NEWOBJ_EX": _call, "BUILD": _build,
    "TUPLE1": _tuple_n, "TUPLE2": _tuple_n, "TUPLE3": _tuple_n, "TUPLE": _tuple,
    "APPEND": _single, "SETITEM": _single, "APPENDS": _batch, "SETITEMS": _batch, "ADDITEMS": _batch,
    "LIST": _from_mark, "DICT": _from_mark, "FROZENSET": _from_mark, "OBJ": _obj, "INST": _obj,
    "POP": _pop, "POP_MARK": _pop_mark, "PROTO": _proto, "FRAME": _frame, "STOP": _stop,
    "PERSID": _refuse, "BINPERSID": _refuse, "EXT1": _refuse, "EXT2": _refuse, "EXT4": _refuse,
    "NEXT_BUFFER": _refuse, "READONLY_BUFFER": _refuse,
}
_HANDLERS = [_not_an_opcode] * 256  # per opcode byte
for _op in pickletools.opcodes:
    _HANDLERS[ord(_op.code)] = _HANDLER_OF_OPCODE[_op.name]
del _op
