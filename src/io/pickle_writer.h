#pragma once
// Emits pickle protocol 2 opcodes (CPython Lib/pickle.py names) for the
// simple programs torch.save writes: enough to pickle a state dict.
#include <cstdint>
#include <string>
#include <string_view>

namespace ldmg::io {

class PickleWriter {
 public:
  PickleWriter();  // writes PROTO 2

  void global(std::string_view module, std::string_view name);  // GLOBAL
  void put(std::uint32_t memo_key);                              // BINPUT / LONG_BINPUT
  void get(std::uint32_t memo_key);                              // BINGET / LONG_BINGET
  void integer(std::int64_t v);                                  // BININT1/BININT2/BININT/LONG1
  void unicode(std::string_view utf8);                           // BINUNICODE
  void boolean(bool v);                                          // NEWTRUE / NEWFALSE
  void none();                                                   // NONE
  void mark();                                                   // MARK
  void tuple();                                                  // TUPLE (from the mark)
  void empty_tuple();                                            // EMPTY_TUPLE
  void reduce();                                                 // REDUCE
  void binpersid();                                              // BINPERSID
  void setitems();                                               // SETITEMS (from the mark)
  // STOP; returns the pickle.
  std::string stop();

 private:
  std::string out_;
};

}  // namespace ldmg::io
