// The restricted unpickler on hand-written opcode sequences: reference
// cycles (a list appended to itself, a dict holding itself) are refused and
// freed, garbage cycles are freed, shared values and deep nesting are fine.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "core/check.h"
#include "io/pickle_reader.h"

using namespace ldmg;
using namespace ldmg::io;
using namespace std::string_literals;

namespace {

// Hooks whose only global is a marker value the test watches: the marker is
// freed exactly when every container that holds it is.
struct Witness {
  std::weak_ptr<PickleValue> marker;
  PickleHooks hooks() {
    PickleHooks h;
    h.find_class = [this](const std::string& module, const std::string& name) {
      auto g = PickleValue::make(PickleValue::Kind::Global);
      g->s = module + "." + name;
      marker = g;
      return g;
    };
    return h;
  }
};

// "\x80\x02" PROTO 2, ']' EMPTY_LIST, 'q' BINPUT, 'h' BINGET, 'c' GLOBAL, 'a' APPEND, '}' EMPTY_DICT,
// 's' SETITEM, '0' POP, 'N' NONE, '.' STOP.
const std::string kListWithMarker =
    "\x80\x02]q\x00"
    "cm\nmarker\na"s;  // L = [marker], memo 0 = L

}  // namespace

TEST(PickleReader, ListAppendedToItselfIsRefusedAndFreed) {
  Witness w;
  const std::string pkl = kListWithMarker +
                          "h\x00"
                          "a."s;  // L.append(L); return L
  try {
    unpickle(pkl, w.hooks(), "cycle.pkl");
    ADD_FAILURE() << "a self-containing list was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cycle.pkl: the pickle builds a list that contains itself"), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(w.marker.expired()) << "the cyclic list was leaked";
}

TEST(PickleReader, DictHoldingItselfIsRefused) {
  const std::string pkl = "\x80\x02}q\x00X\x01\x00\x00\x00kh\x00s."s;  // d['k'] = d
  try {
    unpickle(pkl, {}, "cycle.pkl");
    ADD_FAILURE() << "a self-containing dict was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("a dict that contains itself"), std::string::npos) << e.what();
  }
}

TEST(PickleReader, CyclesOutsideTheResultAndAfterErrorsAreFreed) {
  {  // The cyclic list is popped; the result is None.
    Witness w;
    const PickleRef v = unpickle(kListWithMarker +
                                     "h\x00"
                                     "a0N."s,
                                 w.hooks(), "garbage.pkl");
    EXPECT_TRUE(v->is(PickleValue::Kind::None));
    EXPECT_TRUE(w.marker.expired()) << "a popped cyclic list was leaked";
  }
  {  // An unknown opcode after the cycle (the fuzzer's pickle-self-append-cycle-leak).
    Witness w;
    EXPECT_THROW(unpickle(kListWithMarker + "h\x00"
                                            "a\xff"s,
                          w.hooks(), "bad.pkl"),
                 Error);
    EXPECT_TRUE(w.marker.expired()) << "a cyclic list was leaked on the error path";
  }
}

TEST(PickleReader, SharedValuesWithoutCyclesAreKept) {
  Witness w;
  // M = [L, L] with L = [marker]: one list twice, no cycle.
  const PickleRef m = unpickle(kListWithMarker +
                                   "]h\x00"
                                   "ah\x00"
                                   "a."s,
                               w.hooks(), "shared.pkl");
  ASSERT_TRUE(m->is(PickleValue::Kind::List));
  ASSERT_EQ(m->items.size(), 2u);
  EXPECT_EQ(m->items[0], m->items[1]);
  ASSERT_EQ(m->items[0]->items.size(), 1u);
  EXPECT_EQ(m->items[0]->items[0], w.marker.lock());
}

TEST(PickleReader, DeepNestingIsFreedWithoutRecursion) {
  // 200,000 lists, each appended into the one below: nested 200,000 deep,
  // which a recursive destructor would not survive on an 8 MiB stack.
  const std::size_t n = 200000;
  const std::string pkl = "\x80\x02"s + std::string(n, ']') + std::string(n - 1, 'a') + ".";
  PickleRef v = unpickle(pkl, {}, "deep.pkl");
  std::size_t depth = 1;
  for (const PickleValue* p = v.get(); !p->items.empty(); p = p->items.front().get()) ++depth;
  EXPECT_EQ(depth, n);
  v.reset();
}
