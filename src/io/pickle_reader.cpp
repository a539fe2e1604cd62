#include "io/pickle_reader.h"

#include <bit>
#include <cstring>
#include <unordered_set>

#include "core/check.h"

namespace ldmg::io {

void PickleValue::dict_set(PickleRef key, PickleRef value) {
  if (key->is(Kind::String)) {
    auto [it, fresh] = str_index.emplace(key->s, entries.size());
    if (!fresh) {
      entries[it->second].second = std::move(value);
      return;
    }
  }
  entries.emplace_back(std::move(key), std::move(value));
}

void PickleValue::take_children(std::vector<PickleRef>& out) {
  for (auto& x : items) out.push_back(std::move(x));
  for (auto& [k, v] : entries) {
    out.push_back(std::move(k));
    out.push_back(std::move(v));
  }
  items.clear();
  entries.clear();
  str_index.clear();
}

PickleValue::~PickleValue() {
  std::vector<PickleRef> pending;
  take_children(pending);
  while (!pending.empty()) {
    PickleRef v = std::move(pending.back());
    pending.pop_back();
    // Sole owner: empty it first, so that its destruction at the end of
    // this iteration has no children left to recurse into.
    if (v && v.use_count() == 1) v->take_children(pending);
  }
}

std::string pickle_kind_name(const PickleValue& v) {
  switch (v.kind) {
    case PickleValue::Kind::None: return "None";
    case PickleValue::Kind::Bool: return "bool";
    case PickleValue::Kind::Int: return "int";
    case PickleValue::Kind::Float: return "float";
    case PickleValue::Kind::String: return "str";
    case PickleValue::Kind::Bytes: return "bytes";
    case PickleValue::Kind::Tuple: return "tuple";
    case PickleValue::Kind::List: return "list";
    case PickleValue::Kind::Dict: return "dict";
    case PickleValue::Kind::Global: return "global " + v.s;
    case PickleValue::Kind::Object: return v.s;
  }
  return "?";
}

namespace {
using Kind = PickleValue::Kind;

class Unpickler {
 public:
  Unpickler(std::string_view data, const PickleHooks& hooks, const std::string& where)
      : d_(data), hooks_(hooks), where_(where) {}
  // Breaks every reference a mutation added to a container the result does
  // not keep (all of them after an error): only mutations can close a cycle,
  // since a value is otherwise built from values older than itself.
  ~Unpickler() {
    for (const PickleRef& c : mutated_) {
      std::vector<PickleRef> children;
      c->take_children(children);
    }
  }
  Unpickler(const Unpickler&) = delete;
  Unpickler& operator=(const Unpickler&) = delete;

  // Fails if `result` reaches itself; otherwise stops tracking the mutated
  // containers it holds (they stay intact) so the destructor empties only
  // the unreachable ones, which may form cycles of garbage.
  void keep(const PickleRef& result) {
    // Iterative depth-first search (a hostile pickle nests deep): `on_path`
    // holds the values whose children are being visited, `done` the finished ones.
    std::unordered_set<const PickleValue*> on_path, done;
    struct Frame {
      const PickleValue* v;
      std::size_t next;
    };
    std::vector<Frame> path{{result.get(), 0}};
    on_path.insert(result.get());
    while (!path.empty()) {
      Frame& f = path.back();
      const std::size_t n_items = f.v->items.size(), n = n_items + 2 * f.v->entries.size();
      if (f.next == n) {
        on_path.erase(f.v);
        done.insert(f.v);
        path.pop_back();
        continue;
      }
      const std::size_t k = f.next++;
      const PickleValue* c = k < n_items                ? f.v->items[k].get()
                             : (k - n_items) % 2 == 0 ? f.v->entries[(k - n_items) / 2].first.get()
                                                        : f.v->entries[(k - n_items) / 2].second.get();
      if (on_path.count(c))
        LDMG_FAIL("{}: the pickle builds a {} that contains itself (a reference cycle; a state dict has none)", where_,
                  pickle_kind_name(*c));
      if (done.count(c) || (c->items.empty() && c->entries.empty())) continue;
      on_path.insert(c);
      path.push_back({c, 0});
    }
    std::erase_if(mutated_, [&](const PickleRef& c) { return done.count(c.get()) > 0; });
  }

  PickleRef run() {
    while (true) {
      LDMG_CHECK(pos_ < d_.size(), "{}: pickle data ends at byte {} without a STOP opcode (truncated?)", where_, pos_);
      op_pos_ = pos_;
      op_ = static_cast<unsigned char>(d_[pos_++]);
      if (op_ == '.') {  // STOP
        PickleRef result = pop();
        LDMG_CHECK(pos_ == d_.size(), "{}: {} bytes of data after the pickle's STOP opcode", where_,
                   d_.size() - pos_);
        return result;
      }
      step();
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    LDMG_FAIL("{}: pickle opcode 0x{:02x} at byte {}: {}", where_, op_, op_pos_, what);
  }

  std::string_view take(std::uint64_t n) {
    if (n > d_.size() - pos_) fail(fmt::format("needs {} bytes but the pickle ends {} bytes later", n, d_.size() - pos_));
    std::string_view s = d_.substr(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return s;
  }
  std::uint64_t uint_le(int n) {
    const std::string_view s = take(n);
    std::uint64_t v = 0;
    for (int k = n - 1; k >= 0; --k) v = (v << 8) | static_cast<unsigned char>(s[k]);
    return v;
  }
  std::string_view line() {
    const std::size_t nl = d_.find('\n', pos_);
    if (nl == std::string_view::npos) fail("text argument has no terminating newline");
    std::string_view s = d_.substr(pos_, nl - pos_);
    pos_ = nl + 1;
    return s;
  }

  void push(PickleRef v) { stack_.push_back(std::move(v)); }
  PickleRef pop() {
    if (stack_.size() <= floor()) fail("the stack is empty (malformed pickle)");
    PickleRef v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  PickleRef& top() {
    if (stack_.size() <= floor()) fail("the stack is empty (malformed pickle)");
    return stack_.back();
  }
  std::size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  // Pops everything above the last MARK, and the mark.
  std::vector<PickleRef> pop_mark() {
    if (marks_.empty()) fail("no MARK on the stack (malformed pickle)");
    const std::size_t m = marks_.back();
    marks_.pop_back();
    std::vector<PickleRef> items(std::make_move_iterator(stack_.begin() + static_cast<std::ptrdiff_t>(m)),
                                 std::make_move_iterator(stack_.end()));
    stack_.resize(m);
    return items;
  }

  static PickleRef make_int(std::int64_t i) {
    auto v = PickleValue::make(Kind::Int);
    v->i = i;
    return v;
  }
  static PickleRef make_str(std::string_view s, Kind k = Kind::String) {
    auto v = PickleValue::make(k);
    v->s.assign(s);
    return v;
  }
  static PickleRef make_tuple(std::vector<PickleRef> items) {
    auto v = PickleValue::make(Kind::Tuple);
    v->items = std::move(items);
    return v;
  }

  // Two's-complement little-endian integer of n bytes (LONG1/LONG4).
  PickleRef make_long(std::uint64_t n) {
    if (n > 8) fail(fmt::format("integer of {} bytes does not fit in 64 bits", n));
    const std::string_view s = take(n);
    std::uint64_t u = 0;
    for (std::size_t k = s.size(); k-- > 0;) u = (u << 8) | static_cast<unsigned char>(s[k]);
    if (n > 0 && n < 8 && (static_cast<unsigned char>(s[n - 1]) & 0x80)) u |= ~std::uint64_t{0} << (8 * n);
    return make_int(static_cast<std::int64_t>(u));
  }

  void memo_put(std::uint64_t key) { memo_[key] = top(); }
  void memo_get(std::uint64_t key) {
    auto it = memo_.find(key);
    if (it == memo_.end()) fail(fmt::format("memo key {} was never stored (malformed pickle)", key));
    push(it->second);
  }

  void call_reduce(PickleRef callable, PickleRef args) {
    if (!args->is(Kind::Tuple)) fail(fmt::format("arguments must be a tuple, got {}", pickle_kind_name(*args)));
    if (!hooks_.reduce) fail("calling objects is not allowed");
    push(hooks_.reduce(callable, args));
  }
  void find_class(const std::string& module, const std::string& name) {
    if (!hooks_.find_class) fail(fmt::format("global '{}.{}' is not allowed", module, name));
    push(hooks_.find_class(module, name));
  }
  void set_items(PickleRef& dict, std::vector<PickleRef>& kv) {
    if (!dict->is(Kind::Dict)) fail(fmt::format("setting items of a {}, not a dict", pickle_kind_name(*dict)));
    if (kv.size() % 2) fail("odd number of items for SETITEMS");
    note_mutation(dict);
    for (std::size_t k = 0; k < kv.size(); k += 2) dict->dict_set(std::move(kv[k]), std::move(kv[k + 1]));
  }
  void append_items(PickleRef& list, std::vector<PickleRef>& items) {
    if (!list->is(Kind::List)) fail(fmt::format("appending to a {}, not a list", pickle_kind_name(*list)));
    note_mutation(list);
    for (auto& x : items) list->items.push_back(std::move(x));
  }

  void note_mutation(const PickleRef& c) {
    if (mutated_seen_.insert(c.get()).second) mutated_.push_back(c);
  }

  void step() {
    switch (op_) {
      case 0x80: {  // PROTO
        const auto proto = uint_le(1);
        if (proto > 5) fail(fmt::format("pickle protocol {} is newer than 5", proto));
        return;
      }
      case 0x95: uint_le(8); return;  // FRAME: frames only group opcodes
      case '}': push(PickleValue::make(Kind::Dict)); return;
      case ')': push(PickleValue::make(Kind::Tuple)); return;
      case ']': push(PickleValue::make(Kind::List)); return;
      case '(': marks_.push_back(stack_.size()); return;
      case 't': push(make_tuple(pop_mark())); return;
      case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
        const std::size_t n = op_ - 0x84;
        if (stack_.size() < floor() + n) fail("the stack is too short for the tuple (malformed pickle)");
        std::vector<PickleRef> items(stack_.end() - static_cast<std::ptrdiff_t>(n), stack_.end());
        stack_.resize(stack_.size() - n);
        push(make_tuple(std::move(items)));
        return;
      }
      case 'd': {  // DICT
        auto kv = pop_mark();
        auto dict = PickleValue::make(Kind::Dict);
        set_items(dict, kv);
        push(dict);
        return;
      }
      case 'l': {  // LIST
        auto v = PickleValue::make(Kind::List);
        v->items = pop_mark();
        push(v);
        return;
      }
      case 'J': push(make_int(static_cast<std::int32_t>(uint_le(4)))); return;  // BININT
      case 'K': push(make_int(static_cast<std::int64_t>(uint_le(1)))); return;  // BININT1
      case 'M': push(make_int(static_cast<std::int64_t>(uint_le(2)))); return;  // BININT2
      case 0x8a: push(make_long(uint_le(1))); return;                           // LONG1
      case 0x8b: push(make_long(uint_le(4))); return;                           // LONG4
      case 'I': {  // INT (protocol 0; "01"/"00" are True/False)
        const std::string s(line());
        if (s == "01" || s == "00") {
          auto v = PickleValue::make(Kind::Bool);
          v->b = s == "01";
          push(v);
          return;
        }
        try {
          std::size_t used = 0;
          const long long x = std::stoll(s, &used);
          if (used != s.size()) throw std::invalid_argument(s);
          push(make_int(x));
        } catch (const std::exception&) {
          fail(fmt::format("'{}' is not an integer", s));
        }
        return;
      }
      case 'G': {  // BINFLOAT: big-endian IEEE double
        const std::string_view s = take(8);
        std::uint64_t u = 0;
        for (char c : s) u = (u << 8) | static_cast<unsigned char>(c);
        auto v = PickleValue::make(Kind::Float);
        v->f = std::bit_cast<double>(u);
        push(v);
        return;
      }
      case 'X': push(make_str(take(uint_le(4)))); return;                  // BINUNICODE
      case 0x8c: push(make_str(take(uint_le(1)))); return;                 // SHORT_BINUNICODE
      case 0x8d: push(make_str(take(uint_le(8)))); return;                 // BINUNICODE8
      case 'T': push(make_str(take(uint_le(4)))); return;                  // BINSTRING (Python 2 str)
      case 'U': push(make_str(take(uint_le(1)))); return;                  // SHORT_BINSTRING
      case 'B': push(make_str(take(uint_le(4)), Kind::Bytes)); return;     // BINBYTES
      case 'C': push(make_str(take(uint_le(1)), Kind::Bytes)); return;     // SHORT_BINBYTES
      case 0x8e: push(make_str(take(uint_le(8)), Kind::Bytes)); return;    // BINBYTES8
      case 'N': push(PickleValue::make(Kind::None)); return;
      case 0x88: case 0x89: {  // NEWTRUE, NEWFALSE
        auto v = PickleValue::make(Kind::Bool);
        v->b = op_ == 0x88;
        push(v);
        return;
      }
      case 'q': memo_put(uint_le(1)); return;  // BINPUT
      case 'r': memo_put(uint_le(4)); return;  // LONG_BINPUT
      case 0x94: memo_put(memo_.size()); return;  // MEMOIZE
      case 'h': memo_get(uint_le(1)); return;  // BINGET
      case 'j': memo_get(uint_le(4)); return;  // LONG_BINGET
      case 'p': case 'g': {  // PUT, GET (protocol 0, decimal key)
        const std::string s(line());
        std::uint64_t key = 0;
        if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos)
          fail(fmt::format("memo key '{}' is not a number", s));
        key = std::stoull(s);
        op_ == 'p' ? memo_put(key) : memo_get(key);
        return;
      }
      case '0': pop(); return;  // POP
      case '1': pop_mark(); return;  // POP_MARK
      case '2': push(top()); return;  // DUP
      case 'c': {  // GLOBAL "module\nname\n"
        const std::string module(line());
        const std::string name(line());
        find_class(module, name);
        return;
      }
      case 0x93: {  // STACK_GLOBAL
        PickleRef name = pop(), module = pop();
        if (!name->is(Kind::String) || !module->is(Kind::String)) fail("STACK_GLOBAL needs two strings");
        find_class(module->s, name->s);
        return;
      }
      case 'R': {  // REDUCE
        PickleRef args = pop(), callable = pop();
        call_reduce(std::move(callable), std::move(args));
        return;
      }
      case 0x81: {  // NEWOBJ: cls.__new__(cls, *args)
        PickleRef args = pop(), cls = pop();
        call_reduce(std::move(cls), std::move(args));
        return;
      }
      case 0x92: {  // NEWOBJ_EX: only without keyword arguments
        PickleRef kwargs = pop(), args = pop(), cls = pop();
        if (!kwargs->is(Kind::Dict) || !kwargs->entries.empty()) fail("NEWOBJ_EX with keyword arguments");
        call_reduce(std::move(cls), std::move(args));
        return;
      }
      case 'Q': {  // BINPERSID
        PickleRef pid = pop();
        if (!hooks_.persistent_load) fail("persistent ids are not allowed here");
        push(hooks_.persistent_load(pid));
        return;
      }
      case 's': {  // SETITEM
        PickleRef value = pop(), key = pop();
        std::vector<PickleRef> kv{std::move(key), std::move(value)};
        set_items(top(), kv);
        return;
      }
      case 'u': {  // SETITEMS
        auto kv = pop_mark();
        set_items(top(), kv);
        return;
      }
      case 'a': {  // APPEND
        std::vector<PickleRef> items{pop()};
        append_items(top(), items);
        return;
      }
      case 'e': {  // APPENDS
        auto items = pop_mark();
        append_items(top(), items);
        return;
      }
      case 'b': {  // BUILD
        PickleRef state = pop();
        if (!hooks_.build) fail("BUILD (setting object state) is not allowed");
        hooks_.build(top(), state);
        return;
      }
      default:
        fail("unsupported or forbidden opcode (only the opcodes of a torch.save state dict are understood)");
    }
  }

  std::string_view d_;
  const PickleHooks& hooks_;
  const std::string& where_;
  std::size_t pos_ = 0, op_pos_ = 0;
  unsigned op_ = 0;
  std::vector<PickleRef> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, PickleRef> memo_;
  std::vector<PickleRef> mutated_;  // containers that APPEND(S)/SETITEM(S) added to
  std::unordered_set<const PickleValue*> mutated_seen_;
};
}  // namespace

PickleRef unpickle(std::string_view data, const PickleHooks& hooks, const std::string& where) {
  Unpickler u(data, hooks, where);
  PickleRef result = u.run();
  u.keep(result);
  return result;
}

}  // namespace ldmg::io
