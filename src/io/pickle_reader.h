#pragma once
// A restricted Python unpickler (pickle protocols 0-5 binary opcodes, as in
// CPython's Lib/pickle.py `_Unpickler`) for the data.pkl of a torch.save
// state dict. It builds plain values (None, bool, int, float, str, bytes,
// tuple, list, dict) and leaves everything that would run Python code -
// globals, REDUCE, persistent ids, BUILD - to hooks supplied by the caller,
// which decide what is allowed.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ldmg::io {

struct PickleValue;
using PickleRef = std::shared_ptr<PickleValue>;

struct PickleValue {
  enum class Kind { None, Bool, Int, Float, String, Bytes, Tuple, List, Dict, Global, Object };
  Kind kind = Kind::None;
  bool b = false;
  std::int64_t i = 0;  // Int; Object: the hook's handle
  double f = 0;
  std::string s;  // String/Bytes; Global: "module.name"; Object: a type tag set by the hook
  std::vector<PickleRef> items;                            // Tuple, List
  std::vector<std::pair<PickleRef, PickleRef>> entries;    // Dict, in insertion order
  std::unordered_map<std::string, std::size_t> str_index;  // Dict: string key -> entries index

  PickleValue() = default;
  // Frees nested containers with a loop, not by recursion: a hostile pickle
  // nests lists tens of thousands deep within 64 KiB, deep enough for the
  // default (recursive) destructor to overflow the stack.
  ~PickleValue();
  PickleValue(const PickleValue&) = delete;
  PickleValue& operator=(const PickleValue&) = delete;

  static PickleRef make(Kind k) {
    auto v = std::make_shared<PickleValue>();
    v->kind = k;
    return v;
  }
  bool is(Kind k) const { return kind == k; }
  // Sets d[key] = value as Python does (a string key seen before is replaced).
  void dict_set(PickleRef key, PickleRef value);
  // Moves every child (items, dict keys and values) to `out`; leaves this empty.
  void take_children(std::vector<PickleRef>& out);
};

// Python-ish spelling of a value's type, for error messages ("tuple", "str").
std::string pickle_kind_name(const PickleValue& v);

struct PickleHooks {
  // GLOBAL / STACK_GLOBAL: return the value standing for module.name, or throw.
  std::function<PickleRef(const std::string& module, const std::string& name)> find_class;
  // REDUCE / NEWOBJ: callable(*args), args being a tuple.
  std::function<PickleRef(const PickleRef& callable, const PickleRef& args)> reduce;
  // BINPERSID / PERSID: the object a persistent id refers to.
  std::function<PickleRef(const PickleRef& pid)> persistent_load;
  // BUILD: obj.__setstate__(state); may return nothing to do.
  std::function<void(const PickleRef& obj, const PickleRef& state)> build;
};

// Runs the pickle program `data` and returns the object STOP pops. `where`
// names the data for errors ("'model.pth' (archive/data.pkl)"). Throws
// ldmg::Error on unknown or malformed opcodes, stack underflow, bad memo
// references, truncation, data left after STOP, and a result that contains
// itself (a list appended to itself, a dict holding itself): reference
// cycles, which shared_ptr would never free and a state dict never has.
// Whatever the outcome, no cycle survives the call. Hooks must not add
// references between existing values (returning fresh values, or one of
// their arguments, is fine): cycles are found only through APPEND(S) and
// SETITEM(S).
PickleRef unpickle(std::string_view data, const PickleHooks& hooks, const std::string& where);

}  // namespace ldmg::io
