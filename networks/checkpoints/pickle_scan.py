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

# What each opcode does to the stack, as far as this scan cares.
(_PUSH_STR, _PUSH_SCALAR, _GET, _PUT, _MEMOIZE, _MARK, _EMPTY, _EMPTY_TUPLE, _TUPLE_N, _TUPLE,
 _BATCH, _SINGLE, _FROM_MARK, _CALL, _BUILD, _GLOBAL, _OBJ, _POP, _POP_MARK, _DUP, _PROTO, _FRAME,
 _STOP, _REFUSE) = range(24)
_ACTIONS = {
    "STRING": _PUSH_STR, "BINSTRING": _PUSH_STR, "SHORT_BINSTRING": _PUSH_STR, "BINBYTES": _PUSH_STR,
    "SHORT_BINBYTES": _PUSH_STR, "BINBYTES8": _PUSH_STR, "BYTEARRAY8": _PUSH_STR, "UNICODE": _PUSH_STR,
    "SHORT_BINUNICODE": _PUSH_STR, "BINUNICODE": _PUSH_STR, "BINUNICODE8": _PUSH_STR,
    "INT": _PUSH_SCALAR, "BININT": _PUSH_SCALAR, "BININT1": _PUSH_SCALAR, "BININT2": _PUSH_SCALAR,
    "LONG": _PUSH_SCALAR, "LONG1": _PUSH_SCALAR, "LONG4": _PUSH_SCALAR, "NONE": _PUSH_SCALAR,
    "NEWTRUE": _PUSH_SCALAR, "NEWFALSE": _PUSH_SCALAR, "FLOAT": _PUSH_SCALAR, "BINFLOAT": _PUSH_SCALAR,
    "GET": _GET, "BINGET": _GET, "LONG_BINGET": _GET, "PUT": _PUT, "BINPUT": _PUT, "LONG_BINPUT": _PUT,
    "MEMOIZE": _MEMOIZE, "MARK": _MARK, "EMPTY_LIST": _EMPTY, "EMPTY_DICT": _EMPTY, "EMPTY_SET": _EMPTY,
    "EMPTY_TUPLE": _EMPTY_TUPLE, "TUPLE1": _TUPLE_N, "TUPLE2": _TUPLE_N, "TUPLE3": _TUPLE_N, "TUPLE": _TUPLE,
    "APPENDS": _BATCH, "SETITEMS": _BATCH, "ADDITEMS": _BATCH, "APPEND": _SINGLE, "SETITEM": _SINGLE,
    "LIST": _FROM_MARK, "DICT": _FROM_MARK, "FROZENSET": _FROM_MARK,
    "REDUCE": _CALL, "NEWOBJ": _CALL, "STACK_GLOBAL": _CALL, "NEWOBJ_EX": _CALL, "BUILD": _BUILD,
    "GLOBAL": _GLOBAL, "OBJ": _OBJ, "INST": _OBJ, "POP": _POP, "POP_MARK": _POP_MARK, "DUP": _DUP,
    "PROTO": _PROTO, "FRAME": _FRAME, "STOP": _STOP,
    "PERSID": _REFUSE, "BINPERSID": _REFUSE, "EXT1": _REFUSE, "EXT2": _REFUSE, "EXT4": _REFUSE,
    "NEXT_BUFFER": _REFUSE, "READONLY_BUFFER": _REFUSE,
}
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
_ACTION = [-1] * 256        # what it does to the stack (-1: not an opcode)
_FIXED = [0] * 256          # argument bytes of a fixed-size argument
_COUNTED_ARG = [None] * 256  # (length field width, signed) of a counted argument
_TEXT_LINES = [0] * 256     # newline-terminated text arguments
_POPS = [2] * 256           # objects a fixed-arity opcode takes off the stack
for _op in pickletools.opcodes:
    _code = ord(_op.code)
    _n = _op.arg.n if _op.arg is not None else 0
    _NAMES[_code] = _op.name
    _ACTION[_code] = _ACTIONS[_op.name]
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


def scan_pickle(data: bytes, start: int = 0, persistent_ids: bool = False) -> int:
    """Where the pickle that starts at `start` in `data` ends (just past its STOP); raises
    PickleScanError unless it is a well-formed stream within the limits above. `persistent_ids`
    admits BINPERSID (torch's storage headers use it). Allocates at most a fixed multiple of its
    opcode count."""
    end = len(data)
    pos = start
    stack = []          # stack entries, see _STR_ENTRY
    marks = []          # stack lengths at each MARK
    memo = []           # entries stored with PUT / MEMOIZE
    fence = 0           # stack length at the innermost mark
    puts = 0
    max_put = -1
    hash_work = 0
    non_string = 0
    built = 0           # estimated bytes of the objects built so far, see _COST
    actions, fixed_sizes = _ACTION, _FIXED

    def hashed(entries):
        nonlocal hash_work, non_string
        for _, weight, kind in entries:
            if kind != _STR:
                non_string += 1
                hash_work += weight
        if non_string > MAX_NON_STRING_KEYS:
            raise PickleScanError(f"the pickle uses more than {MAX_NON_STRING_KEYS:,} non-string dict keys or set "
                                  "items, which no checkpoint does")
        if hash_work > MAX_HASH_WORK:
            raise PickleScanError("the pickle's dict keys or set items are tuples that would take too long to hash "
                                  "(shared tuples nested inside each other)")

    def spend(nbytes):
        nonlocal built
        built += nbytes
        if built > MAX_BUILT_BYTES:
            raise PickleScanError(f"the pickle builds more than {MAX_BUILT_BYTES >> 20} MB of Python objects "
                                  "(besides its arrays), which no checkpoint does; it is crafted to exhaust memory")

    def container(depth, weight, kind):
        if depth > MAX_DEPTH:
            raise PickleScanError(f"the pickle nests containers more than {MAX_DEPTH} deep, which no checkpoint does")
        return depth, (weight if weight < _CAP else _CAP), kind

    def grown():
        if len(stack) > MAX_STACK:
            raise PickleScanError(f"the pickle keeps more than {MAX_STACK:,} objects on its stack, which no "
                                  "checkpoint does")

    def skip_argument(code, start):
        """Position after a counted or text argument that starts at `start`."""
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

    while True:
        if pos >= end:
            raise PickleScanError("the pickle is truncated (it ends before its STOP opcode)")
        code = data[pos]
        action = actions[code]
        arg = pos + 1
        pos = arg + fixed_sizes[code]
        if pos > end:
            raise PickleScanError("the pickle is truncated (an argument is cut off)")

        if action == _GET:
            if pos == arg:
                pos = skip_argument(code, arg)
                index = _decimal(data[arg:pos - 1])
            else:
                index = int.from_bytes(data[arg:pos], "little")
            if index >= len(memo) or memo[index] is None:
                raise PickleScanError(f"the pickle reads memo entry {index:,} before storing it; it is corrupt or "
                                      "crafted")
            stack.append(memo[index])
            grown()
        elif action == _MEMOIZE:
            if len(stack) <= fence:
                raise _corrupt("it stores a missing object in its memo")
            puts += 1
            if len(memo) >= MAX_MEMO:
                raise PickleScanError(f"the pickle stores more than {MAX_MEMO:,} objects in its memo, which no "
                                      "checkpoint does")
            memo.append(stack[-1])
        elif action == _PUSH_SCALAR:
            if pos == arg and code != 0x4E and code != 0x88 and code != 0x89:  # N, NEWTRUE, NEWFALSE take none
                pos = skip_argument(code, arg)
            stack.append(_SCALAR_ENTRY)
            grown()
        elif action == _CALL or action == _TUPLE_N or action == _BUILD or action == _SINGLE:
            pops = _POPS[code]
            if len(stack) - fence < (pops if action != _SINGLE else pops + 1):
                raise _corrupt(f"{_NAMES[code]} finds too few objects on the stack")
            items = stack[-pops:]
            del stack[-pops:]
            spend(_COST[code])
            if action == _CALL:
                stack.append(container(1 + max(d for d, _, _ in items), 1, _OTHER))
            elif action == _TUPLE_N:
                stack.append(container(1 + max(d for d, _, _ in items), 1 + sum(w for _, w, _ in items), _TUPLE))
            elif action == _BUILD:
                stack.append(container(max(items[0][0], 1 + items[1][0]), 1, _OTHER))
            else:  # APPEND / SETITEM onto the container below
                spend(_ITEM_SLOT)
                if pops == 2:
                    hashed(items[:1])
                target = stack[-1]
                stack[-1] = container(max(target[0], 1 + max(d for d, _, _ in items)), 1, target[2])
        elif action == _PUSH_STR:
            pos = skip_argument(code, arg)
            stack.append(_STR_ENTRY)
            grown()
        elif action == _EMPTY_TUPLE:
            stack.append(_EMPTY_TUPLE_ENTRY)
            grown()
        elif action == _MARK:
            marks.append(fence)
            fence = len(stack)
            if len(marks) > MAX_DEPTH:
                raise PickleScanError(f"the pickle nests marks more than {MAX_DEPTH} deep, which no checkpoint does")
        elif action == _EMPTY:
            spend(_COST[code])
            stack.append(_EMPTY_CONTAINER_ENTRY)
            grown()
        elif action == _PUT:
            if len(stack) <= fence:
                raise _corrupt("it stores a missing object in its memo")
            if pos == arg:
                pos = skip_argument(code, arg)
                index = _decimal(data[arg:pos - 1])
            else:
                index = int.from_bytes(data[arg:pos], "little")
            puts += 1
            # Every memo entry costs at least one opcode byte: an index beyond what the rest of the
            # stream could define is never read back, only allocated.
            if index > puts + (end - pos) or index >= MAX_MEMO:
                raise PickleScanError(f"the pickle stores memo entry {index:,}, more than its {end:,} bytes could "
                                      "ever use; it is crafted to exhaust memory")
            if index > max_put:
                max_put = index
            if index >= len(memo):
                memo.extend([None] * (index + 1 - len(memo)))
            memo[index] = stack[-1]
        elif action in (_TUPLE, _BATCH, _FROM_MARK, _OBJ, _POP_MARK):
            name = _NAMES[code]
            if action == _OBJ and pos == arg:
                pos = skip_argument(code, arg)  # INST names its class in text
            if not marks:
                raise _corrupt(f"{name} without a mark")
            items = stack[fence:]
            del stack[fence:]
            fence = marks.pop()
            spend(_COST[code] + _ITEM_SLOT * len(items))
            depth = 1 + max((d for d, _, _ in items), default=0)
            if action == _TUPLE:
                stack.append(container(depth, 1 + sum(w for _, w, _ in items), _TUPLE))
            elif action == _BATCH:
                if name == "SETITEMS":
                    if len(items) % 2:
                        raise _corrupt("SETITEMS with an odd number of objects")
                    hashed(items[0::2])
                elif name == "ADDITEMS":
                    hashed(items)
                if len(stack) <= fence:
                    raise _corrupt(f"{name} has no container to add to")
                target = stack[-1]
                stack[-1] = container(max(target[0], depth), 1, target[2])
            elif action == _FROM_MARK:
                if name == "DICT":
                    if len(items) % 2:
                        raise _corrupt("DICT with an odd number of objects")
                    hashed(items[0::2])
                elif name == "FROZENSET":
                    hashed(items)
                stack.append(container(depth, 1 + len(items), _SCALAR) if name == "FROZENSET"
                             else container(depth, 1, _OTHER))
            elif action == _OBJ:
                if name == "OBJ" and not items:
                    raise _corrupt("OBJ without a class")
                stack.append(container(depth, 1, _OTHER))
        elif action == _GLOBAL:
            pos = skip_argument(code, arg)
            stack.append(_OTHER_ENTRY)
            grown()
        elif action == _POP:
            if len(stack) > fence:
                stack.pop()
            elif marks:
                fence = marks.pop()
            else:
                raise _corrupt("POP on an empty stack")
        elif action == _DUP:
            if len(stack) <= fence:
                raise _corrupt("DUP on an empty stack")
            stack.append(stack[-1])
            grown()
        elif action == _PROTO:
            if data[arg] > HIGHEST_PROTOCOL:
                raise PickleScanError(f"the pickle uses protocol {data[arg]}, newer than any Python writes")
        elif action == _FRAME:
            if int.from_bytes(data[arg:pos], "little") > end - pos:
                raise PickleScanError("the pickle declares a frame longer than the file; it is truncated or corrupt")
        elif action == _STOP:
            if len(stack) != 1 or marks:
                raise _corrupt("it stops with an unfinished stack")
            break
        elif action == _REFUSE and persistent_ids and code == _BINPERSID:
            if len(stack) <= fence:
                raise _corrupt("BINPERSID on an empty stack")
            stack[-1] = _OTHER_ENTRY
        elif action == _REFUSE:
            raise PickleScanError(f"the file uses {_REFUSED[_NAMES[code]]}; refusing to load it")
        else:
            raise _corrupt(f"byte {arg - 1} is not a pickle opcode")
    if max_put >= puts:
        raise PickleScanError(f"the pickle stores memo entry {max_put:,} but defines only {puts:,}; it is crafted "
                              "to exhaust memory")
    return pos
