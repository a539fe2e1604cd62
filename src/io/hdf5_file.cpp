#include "io/hdf5_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <type_traits>

#include "core/check.h"

static_assert(std::is_same_v<hid_t, ldmg::io::h5::Hid>, "hid_t must be int64_t (HDF5 >= 1.10)");
static_assert(std::endian::native == std::endian::little, "f16 datasets assume a little-endian host");

namespace ldmg::io::h5 {

namespace {

// HDF5 prints its error stack to stderr by default; we collect it into our
// exception instead. The setting is per thread in thread-safe builds.
void init_thread() {
  // HDF5's atexit cleanup crashed (SIGSEGV) on a file whose close had failed
  // with a full disk: our handles close themselves, so it is not needed.
  static const bool no_atexit = (H5dont_atexit(), true);
  (void)no_atexit;
  thread_local bool done = false;
  if (!done) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    done = true;
  }
}

herr_t collect_error(unsigned /*n*/, const H5E_error2_t* err, void* data) {
  auto* lines = static_cast<std::vector<std::string>*>(data);
  if (lines->size() >= 8) return 0;
  std::string line = fmt::format("{}(): {}", err->func_name ? err->func_name : "?", err->desc ? err->desc : "");
  char minor[160];
  if (H5Eget_msg(err->min_num, nullptr, minor, sizeof(minor)) > 0) line += fmt::format(" [{}]", minor);
  lines->push_back(std::move(line));
  return 0;
}

// The current thread's HDF5 error stack as one line; clears it.
std::string take_error_stack() {
  std::vector<std::string> lines;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect_error, &lines);
  H5Eclear2(H5E_DEFAULT);
  return fmt::format("{}", fmt::join(lines, "; "));
}

// Lazily formatted context: only a failure pays for the message.
struct Ctx {
  const std::string& file;
  const std::string& path;
  std::string_view extra = {};
};

[[noreturn]] void fail(const char* call, const Ctx& ctx) {
  const std::string stack = take_error_stack();
  LDMG_FAIL("HDF5 {} failed for file '{}', object '{}'{}{}{}", call, ctx.file, ctx.path, ctx.extra.empty() ? "" : " ",
            ctx.extra, stack.empty() ? std::string() : " (HDF5: " + stack + ")");
}

hid_t check_id(hid_t id, const char* call, const Ctx& ctx) {
  if (id < 0) fail(call, ctx);
  return id;
}
void check_status(herr_t status, const char* call, const Ctx& ctx) {
  if (status < 0) fail(call, ctx);
}
htri_t check_tri(htri_t v, const char* call, const Ctx& ctx) {
  if (v < 0) fail(call, ctx);
  return v;
}

std::string join_path(const std::string& base, const std::string& name) {
  if (!name.empty() && name.front() == '/') return name;
  if (name.empty() || name == ".") return base;
  if (base.empty() || base == "/") return "/" + name;
  return base + "/" + name;
}

// IEEE binary16 as an HDF5 derived float type (the type h5py uses for float16).
Handle make_half_type(const Ctx& ctx) {
  Handle t(check_id(H5Tcopy(H5T_IEEE_F32LE), "H5Tcopy", ctx));
  check_status(H5Tset_fields(t.get(), 15, 10, 5, 0, 10), "H5Tset_fields", ctx);
  check_status(H5Tset_size(t.get(), 2), "H5Tset_size", ctx);
  check_status(H5Tset_precision(t.get(), 16), "H5Tset_precision", ctx);
  check_status(H5Tset_ebias(t.get(), 15), "H5Tset_ebias", ctx);
  return t;
}

Handle make_vlen_string_type(const Ctx& ctx) {
  Handle t(check_id(H5Tcopy(H5T_C_S1), "H5Tcopy", ctx));
  check_status(H5Tset_size(t.get(), H5T_VARIABLE), "H5Tset_size", ctx);
  check_status(H5Tset_cset(t.get(), H5T_CSET_UTF8), "H5Tset_cset", ctx);
  return t;
}

// The file type for an element type (always an owned copy).
Handle make_file_type(ElemType type, const Ctx& ctx) {
  switch (type) {
    case ElemType::f32:
      return Handle(check_id(H5Tcopy(H5T_IEEE_F32LE), "H5Tcopy", ctx));
    case ElemType::f64:
      return Handle(check_id(H5Tcopy(H5T_IEEE_F64LE), "H5Tcopy", ctx));
    case ElemType::i64:
      return Handle(check_id(H5Tcopy(H5T_STD_I64LE), "H5Tcopy", ctx));
    case ElemType::i32:
      return Handle(check_id(H5Tcopy(H5T_STD_I32LE), "H5Tcopy", ctx));
    case ElemType::u8:
      return Handle(check_id(H5Tcopy(H5T_STD_U8LE), "H5Tcopy", ctx));
    case ElemType::f16:
      return make_half_type(ctx);
    case ElemType::string:
      return make_vlen_string_type(ctx);
    case ElemType::other:
      break;
  }
  LDMG_FAIL("cannot create a dataset or attribute of element type '{}' in file '{}', object '{}'", to_string(type),
            ctx.file, ctx.path);
}

ElemType classify(hid_t type, const Ctx& ctx) {
  const H5T_class_t cls = H5Tget_class(type);
  if (cls == H5T_NO_CLASS) fail("H5Tget_class", ctx);
  const std::size_t size = H5Tget_size(type);
  if (size == 0) fail("H5Tget_size", ctx);
  if (cls == H5T_FLOAT) {
    if (size == 2 && H5Tget_order(type) == H5T_ORDER_LE) return ElemType::f16;
    if (size == 4) return ElemType::f32;
    if (size == 8) return ElemType::f64;
  } else if (cls == H5T_INTEGER) {
    const bool is_signed = H5Tget_sign(type) == H5T_SGN_2;
    if (is_signed && size == 8) return ElemType::i64;
    if (is_signed && size == 4) return ElemType::i32;
    if (!is_signed && size == 1) return ElemType::u8;
  } else if (cls == H5T_STRING) {
    return ElemType::string;
  }
  return ElemType::other;
}

bool is_float_class(hid_t type) { return H5Tget_class(type) == H5T_FLOAT; }
bool is_integer_class(hid_t type) { return H5Tget_class(type) == H5T_INTEGER; }

std::vector<hsize_t> to_hsize(const std::vector<std::int64_t>& v, const char* what, const Ctx& ctx) {
  std::vector<hsize_t> out;
  out.reserve(v.size());
  for (std::int64_t d : v) {
    LDMG_CHECK(d >= 0, "negative {} {} for file '{}', object '{}'", what, d, ctx.file, ctx.path);
    out.push_back(static_cast<hsize_t>(d));
  }
  return out;
}

std::int64_t product(const std::vector<std::int64_t>& v) {
  std::int64_t n = 1;
  for (auto d : v) n *= d;
  return n;
}

Handle make_space(const std::vector<std::int64_t>& shape, const std::vector<std::int64_t>* max_shape, const Ctx& ctx) {
  if (shape.empty()) return Handle(check_id(H5Screate(H5S_SCALAR), "H5Screate", ctx));
  const auto dims = to_hsize(shape, "dimension", ctx);
  std::vector<hsize_t> maxdims;
  if (max_shape && !max_shape->empty()) {
    LDMG_CHECK(max_shape->size() == shape.size(),
               "max_shape has rank {} but the shape has rank {} (file '{}', object '{}')", max_shape->size(),
               shape.size(), ctx.file, ctx.path);
    for (std::size_t i = 0; i < shape.size(); ++i) {
      const std::int64_t m = (*max_shape)[i];
      LDMG_CHECK(m == -1 || m >= shape[i], "max_shape[{}] = {} is below the shape's {} (file '{}', object '{}')", i, m,
                 shape[i], ctx.file, ctx.path);
      maxdims.push_back(m == -1 ? H5S_UNLIMITED : static_cast<hsize_t>(m));
    }
  }
  return Handle(
      check_id(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), maxdims.empty() ? nullptr : maxdims.data()),
               "H5Screate_simple", ctx));
}

std::vector<std::int64_t> space_dims(hid_t space, const Ctx& ctx, std::vector<std::int64_t>* max_out = nullptr) {
  const int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 0) fail("H5Sget_simple_extent_ndims", ctx);
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank)), maxdims(static_cast<std::size_t>(rank));
  if (rank > 0 && H5Sget_simple_extent_dims(space, dims.data(), maxdims.data()) < 0)
    fail("H5Sget_simple_extent_dims", ctx);
  if (max_out) {
    max_out->clear();
    for (hsize_t m : maxdims) max_out->push_back(m == H5S_UNLIMITED ? -1 : static_cast<std::int64_t>(m));
  }
  return {dims.begin(), dims.end()};
}

std::size_t space_points(hid_t space, const Ctx& ctx) {
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  if (n < 0) fail("H5Sget_simple_extent_npoints", ctx);
  return static_cast<std::size_t>(n);
}

Handle make_lcpl(const Ctx& ctx) {
  Handle lcpl(check_id(H5Pcreate(H5P_LINK_CREATE), "H5Pcreate(H5P_LINK_CREATE)", ctx));
  check_status(H5Pset_create_intermediate_group(lcpl.get(), 1), "H5Pset_create_intermediate_group", ctx);
  check_status(H5Pset_char_encoding(lcpl.get(), H5T_CSET_UTF8), "H5Pset_char_encoding", ctx);
  return lcpl;
}

std::vector<std::int64_t> auto_chunk(const std::vector<std::int64_t>& shape) {
  std::vector<std::int64_t> chunk;
  for (auto d : shape) chunk.push_back(std::max<std::int64_t>(d, 1));
  while (product(chunk) > (1 << 20)) {
    auto it = std::max_element(chunk.begin(), chunk.end());
    *it = (*it + 1) / 2;
  }
  return chunk;
}

// Variable- or fixed-length strings from a dataset or attribute.
template <typename ReadFn>
std::vector<std::string> read_string_elements(hid_t file_type, hid_t space, std::size_t n, ReadFn&& read,
                                              const Ctx& ctx) {
  std::vector<std::string> out;
  out.reserve(n);
  const htri_t vlen = check_tri(H5Tis_variable_str(file_type), "H5Tis_variable_str", ctx);
  if (vlen) {
    Handle mem(check_id(H5Tcopy(H5T_C_S1), "H5Tcopy", ctx));
    check_status(H5Tset_size(mem.get(), H5T_VARIABLE), "H5Tset_size", ctx);
    check_status(H5Tset_cset(mem.get(), H5Tget_cset(file_type)), "H5Tset_cset", ctx);
    std::vector<char*> ptrs(n, nullptr);
    check_status(read(mem.get(), static_cast<void*>(ptrs.data())), "read (variable-length strings)", ctx);
    for (char* p : ptrs) out.emplace_back(p ? p : "");
    H5Dvlen_reclaim(mem.get(), space, H5P_DEFAULT, ptrs.data());
  } else {
    const std::size_t size = H5Tget_size(file_type);
    if (size == 0) fail("H5Tget_size", ctx);
    Handle mem(check_id(H5Tcopy(file_type), "H5Tcopy", ctx));
    std::vector<char> buf(n * size);
    check_status(read(mem.get(), static_cast<void*>(buf.data())), "read (fixed-length strings)", ctx);
    const bool space_pad = H5Tget_strpad(file_type) == H5T_STR_SPACEPAD;
    for (std::size_t i = 0; i < n; ++i) {
      std::string s(buf.data() + i * size, size);
      s.resize(std::strlen(s.c_str()));
      if (space_pad) {
        while (!s.empty() && s.back() == ' ') s.pop_back();
      }
      out.push_back(std::move(s));
    }
  }
  return out;
}

}  // namespace

// ---- small helpers ---------------------------------------------------------

const char* to_string(ElemType t) {
  switch (t) {
    case ElemType::f32:
      return "f32";
    case ElemType::f16:
      return "f16";
    case ElemType::f64:
      return "f64";
    case ElemType::i64:
      return "i64";
    case ElemType::i32:
      return "i32";
    case ElemType::u8:
      return "u8";
    case ElemType::string:
      return "string";
    case ElemType::other:
      return "other";
  }
  return "?";
}

// Round to nearest even by integer arithmetic on the float's bits (the
// classic bias-and-carry method; subnormals via a float addition that lets
// the FPU do the rounding).
std::uint16_t float_to_half(float value) {
  std::uint32_t x = std::bit_cast<std::uint32_t>(value);
  const std::uint32_t sign = (x >> 16) & 0x8000u;
  x &= 0x7fffffffu;
  std::uint32_t out;
  if (x >= 0x47800000u) {  // |v| >= 65536, inf, NaN
    out = x > 0x7f800000u ? 0x7e00u | ((x >> 13) & 0x1ffu) : 0x7c00u;
  } else if (x < 0x38800000u) {                             // |v| < 2^-14: subnormal half or zero
    const float magic = std::bit_cast<float>(0x3f000000u);  // 0.5 = 2^-1: ulp 2^-24 at this exponent
    out = std::bit_cast<std::uint32_t>(std::bit_cast<float>(x) + magic) - 0x3f000000u;
  } else {
    const std::uint32_t odd = (x >> 13) & 1u;
    x += 0xc8000fffu + odd;  // rebias exponent (127 -> 15) and add the rounding bias
    out = x >> 13;
  }
  return static_cast<std::uint16_t>(out | sign);
}

float half_to_float(std::uint16_t bits) {
  const std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x8000u) << 16;
  const std::uint32_t exp = (bits >> 10) & 0x1fu;
  const std::uint32_t mant = bits & 0x3ffu;
  if (exp == 0) {
    const float v = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -v : v;
  }
  if (exp == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));
  return std::bit_cast<float>(sign | ((exp + 112u) << 23) | (mant << 13));
}

std::string library_version() {
  unsigned maj = 0, min = 0, rel = 0;
  H5get_libversion(&maj, &min, &rel);
  return fmt::format("HDF5 library version: {}.{}.{}", maj, min, rel);
}

// ---- Handle ----------------------------------------------------------------

Handle& Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    reset();
    id_ = o.id_;
    o.id_ = -1;
  }
  return *this;
}

void Handle::reset() noexcept {
  if (id_ < 0) return;
  init_thread();
  switch (H5Iget_type(id_)) {
    case H5I_FILE:
      H5Fclose(id_);
      break;
    case H5I_GROUP:
      H5Gclose(id_);
      break;
    case H5I_DATASET:
      H5Dclose(id_);
      break;
    case H5I_DATASPACE:
      H5Sclose(id_);
      break;
    case H5I_ATTR:
      H5Aclose(id_);
      break;
    case H5I_DATATYPE:
      H5Tclose(id_);
      break;
    case H5I_GENPROP_LST:
      H5Pclose(id_);
      break;
    default:
      H5Idec_ref(id_);
      break;
  }
  H5Eclear2(H5E_DEFAULT);
  id_ = -1;
}

// ---- Object: attributes ----------------------------------------------------

std::string Object::child_path(const std::string& name) const { return join_path(path_, name); }

namespace {

void write_attr(hid_t obj, const std::string& name, ElemType type, hid_t mem_type, const Handle& space,
                const void* data, const Ctx& ctx) {
  const std::string extra = fmt::format("attribute '{}'", name);
  const Ctx actx{ctx.file, ctx.path, extra};
  if (check_tri(H5Aexists(obj, name.c_str()), "H5Aexists", actx) > 0)
    check_status(H5Adelete(obj, name.c_str()), "H5Adelete", actx);
  Handle ftype = make_file_type(type, actx);
  Handle attr(
      check_id(H5Acreate2(obj, name.c_str(), ftype.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2", actx));
  check_status(H5Awrite(attr.get(), mem_type == 0 ? ftype.get() : mem_type, data), "H5Awrite", actx);
}

struct OpenAttr {
  Handle attr, type, space;
  std::size_t n = 0;
};

OpenAttr open_attr(hid_t obj, const std::string& name, const Ctx& actx) {
  LDMG_CHECK(check_tri(H5Aexists(obj, name.c_str()), "H5Aexists", actx) > 0,
             "attribute '{}' not found on object '{}' in file '{}'", name, actx.path, actx.file);
  OpenAttr a;
  a.attr = Handle(check_id(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "H5Aopen", actx));
  a.type = Handle(check_id(H5Aget_type(a.attr.get()), "H5Aget_type", actx));
  a.space = Handle(check_id(H5Aget_space(a.attr.get()), "H5Aget_space", actx));
  a.n = space_points(a.space.get(), actx);
  return a;
}

template <typename T>
std::vector<T> read_numeric_attr(hid_t obj, const std::string& name, hid_t mem_type, bool integers_only,
                                 const Ctx& ctx) {
  const std::string extra = fmt::format("attribute '{}'", name);
  const Ctx actx{ctx.file, ctx.path, extra};
  OpenAttr a = open_attr(obj, name, actx);
  const bool ok =
      integers_only ? is_integer_class(a.type.get()) : (is_integer_class(a.type.get()) || is_float_class(a.type.get()));
  LDMG_CHECK(ok, "attribute '{}' on object '{}' in file '{}' holds {} values, expected {}", name, ctx.path, ctx.file,
             to_string(classify(a.type.get(), actx)), integers_only ? "integers" : "numbers");
  std::vector<T> out(a.n);
  if (classify(a.type.get(), actx) == ElemType::f16) {
    std::vector<std::uint16_t> bits(a.n);
    check_status(H5Aread(a.attr.get(), a.type.get(), bits.data()), "H5Aread", actx);
    for (std::size_t i = 0; i < a.n; ++i) out[i] = static_cast<T>(half_to_float(bits[i]));
  } else if (a.n > 0) {
    check_status(H5Aread(a.attr.get(), mem_type, out.data()), "H5Aread", actx);
  }
  return out;
}

template <typename T>
T single(std::vector<T> v, const std::string& name, const Ctx& ctx) {
  LDMG_CHECK(v.size() == 1, "attribute '{}' on object '{}' in file '{}' has {} elements, expected one", name, ctx.path,
             ctx.file, v.size());
  return v[0];
}

}  // namespace

void Object::set_string_attr(const std::string& name, std::string_view value) {
  init_thread();
  const Ctx ctx{file_, path_};
  const std::string copy(value);
  const char* ptr = copy.c_str();
  Handle space(check_id(H5Screate(H5S_SCALAR), "H5Screate", ctx));
  write_attr(id(), name, ElemType::string, 0, space, &ptr, ctx);
}

void Object::set_strings_attr(const std::string& name, const std::vector<std::string>& values) {
  init_thread();
  const Ctx ctx{file_, path_};
  std::vector<const char*> ptrs;
  for (const auto& s : values) ptrs.push_back(s.c_str());
  Handle space = make_space({static_cast<std::int64_t>(values.size())}, nullptr, ctx);
  write_attr(id(), name, ElemType::string, 0, space, ptrs.data(), ctx);
}

void Object::set_int_attr(const std::string& name, std::int64_t value) {
  init_thread();
  const Ctx ctx{file_, path_};
  Handle space(check_id(H5Screate(H5S_SCALAR), "H5Screate", ctx));
  write_attr(id(), name, ElemType::i64, H5T_NATIVE_INT64, space, &value, ctx);
}

void Object::set_double_attr(const std::string& name, double value) {
  init_thread();
  const Ctx ctx{file_, path_};
  Handle space(check_id(H5Screate(H5S_SCALAR), "H5Screate", ctx));
  write_attr(id(), name, ElemType::f64, H5T_NATIVE_DOUBLE, space, &value, ctx);
}

void Object::set_ints_attr(const std::string& name, std::span<const std::int64_t> values) {
  init_thread();
  const Ctx ctx{file_, path_};
  Handle space = make_space({static_cast<std::int64_t>(values.size())}, nullptr, ctx);
  write_attr(id(), name, ElemType::i64, H5T_NATIVE_INT64, space, values.data(), ctx);
}

void Object::set_doubles_attr(const std::string& name, std::span<const double> values) {
  init_thread();
  const Ctx ctx{file_, path_};
  Handle space = make_space({static_cast<std::int64_t>(values.size())}, nullptr, ctx);
  write_attr(id(), name, ElemType::f64, H5T_NATIVE_DOUBLE, space, values.data(), ctx);
}

void Object::set_floats_attr(const std::string& name, std::span<const float> values) {
  init_thread();
  const Ctx ctx{file_, path_};
  Handle space = make_space({static_cast<std::int64_t>(values.size())}, nullptr, ctx);
  write_attr(id(), name, ElemType::f32, H5T_NATIVE_FLOAT, space, values.data(), ctx);
}

bool Object::has_attr(const std::string& name) const {
  init_thread();
  return check_tri(H5Aexists(id(), name.c_str()), "H5Aexists", Ctx{file_, path_, name}) > 0;
}

std::vector<std::string> Object::attr_names() const {
  init_thread();
  std::vector<std::string> names;
  auto cb = [](hid_t, const char* name, const H5A_info_t*, void* data) -> herr_t {
    static_cast<std::vector<std::string>*>(data)->emplace_back(name);
    return 0;
  };
  check_status(H5Aiterate2(id(), H5_INDEX_NAME, H5_ITER_INC, nullptr, cb, &names), "H5Aiterate2", Ctx{file_, path_});
  return names;
}

void Object::delete_attr(const std::string& name) {
  init_thread();
  check_status(H5Adelete(id(), name.c_str()), "H5Adelete", Ctx{file_, path_, name});
}

std::vector<std::string> Object::strings_attr(const std::string& name) const {
  init_thread();
  const std::string extra = fmt::format("attribute '{}'", name);
  const Ctx actx{file_, path_, extra};
  OpenAttr a = open_attr(id(), name, actx);
  LDMG_CHECK(H5Tget_class(a.type.get()) == H5T_STRING, "attribute '{}' on object '{}' in file '{}' is not a string",
             name, path_, file_);
  const hid_t attr = a.attr.get();
  return read_string_elements(
      a.type.get(), a.space.get(), a.n, [attr](hid_t mem, void* buf) { return H5Aread(attr, mem, buf); }, actx);
}

std::string Object::string_attr(const std::string& name) const {
  return single(strings_attr(name), name, Ctx{file_, path_});
}

std::int64_t Object::int_attr(const std::string& name) const {
  return single(ints_attr(name), name, Ctx{file_, path_});
}

double Object::double_attr(const std::string& name) const {
  return single(doubles_attr(name), name, Ctx{file_, path_});
}

std::vector<std::int64_t> Object::ints_attr(const std::string& name) const {
  init_thread();
  return read_numeric_attr<std::int64_t>(id(), name, H5T_NATIVE_INT64, true, Ctx{file_, path_});
}

std::vector<double> Object::doubles_attr(const std::string& name) const {
  init_thread();
  return read_numeric_attr<double>(id(), name, H5T_NATIVE_DOUBLE, false, Ctx{file_, path_});
}

std::vector<float> Object::floats_attr(const std::string& name) const {
  init_thread();
  return read_numeric_attr<float>(id(), name, H5T_NATIVE_FLOAT, false, Ctx{file_, path_});
}

// ---- Dataset ---------------------------------------------------------------

DatasetInfo Dataset::info() const {
  init_thread();
  const Ctx ctx{file_, path_};
  DatasetInfo out;
  Handle type(check_id(H5Dget_type(id()), "H5Dget_type", ctx));
  out.type = classify(type.get(), ctx);
  Handle space(check_id(H5Dget_space(id()), "H5Dget_space", ctx));
  out.shape = space_dims(space.get(), ctx, &out.max_shape);
  Handle dcpl(check_id(H5Dget_create_plist(id()), "H5Dget_create_plist", ctx));
  const H5D_layout_t layout = H5Pget_layout(dcpl.get());
  if (layout < 0) fail("H5Pget_layout", ctx);
  out.is_virtual = layout == H5D_VIRTUAL;
  if (layout == H5D_CHUNKED) {
    std::vector<hsize_t> chunk(out.shape.size());
    if (H5Pget_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()) < 0) fail("H5Pget_chunk", ctx);
    out.chunk.assign(chunk.begin(), chunk.end());
    const int nfilters = H5Pget_nfilters(dcpl.get());
    if (nfilters < 0) fail("H5Pget_nfilters", ctx);
    for (int i = 0; i < nfilters; ++i) {
      unsigned flags = 0, values[8] = {0};
      std::size_t nvalues = 8;
      char name[64];
      const H5Z_filter_t f =
          H5Pget_filter2(dcpl.get(), static_cast<unsigned>(i), &flags, &nvalues, values, sizeof(name), name, nullptr);
      if (f < 0) fail("H5Pget_filter2", ctx);
      if (f == H5Z_FILTER_SHUFFLE) out.shuffle = true;
      if (f == H5Z_FILTER_DEFLATE) out.gzip_level = nvalues > 0 ? static_cast<int>(values[0]) : 1;
    }
  }
  return out;
}

std::vector<std::int64_t> Dataset::shape() const {
  init_thread();
  const Ctx ctx{file_, path_};
  Handle space(check_id(H5Dget_space(id()), "H5Dget_space", ctx));
  return space_dims(space.get(), ctx);
}

ElemType Dataset::type() const {
  init_thread();
  const Ctx ctx{file_, path_};
  Handle type(check_id(H5Dget_type(id()), "H5Dget_type", ctx));
  return classify(type.get(), ctx);
}

void Dataset::write_raw(Hid mem_type, const void* data, std::size_t count, const char* what,
                        const std::vector<std::int64_t>* offset, const std::vector<std::int64_t>* slab) {
  init_thread();
  const Ctx ctx{file_, path_};
  Handle fspace(check_id(H5Dget_space(id()), "H5Dget_space", ctx));
  Handle mspace;
  if (offset) {
    const auto dims = space_dims(fspace.get(), ctx);
    LDMG_CHECK(offset->size() == dims.size() && slab->size() == dims.size(),
               "slab offset/count ranks {}/{} differ from the rank {} of dataset '{}' in file '{}'", offset->size(),
               slab->size(), dims.size(), path_, file_);
    for (std::size_t i = 0; i < dims.size(); ++i)
      LDMG_CHECK((*offset)[i] >= 0 && (*slab)[i] >= 0 && (*offset)[i] + (*slab)[i] <= dims[i],
                 "slab [{}, +{}) of dim {} exceeds the extent {} of dataset '{}' in file '{}'", (*offset)[i],
                 (*slab)[i], i, dims[i], path_, file_);
    LDMG_CHECK(static_cast<std::int64_t>(count) == product(*slab),
               "{} {} values for a slab of {} elements in dataset '{}' of file '{}'", count, what, product(*slab),
               path_, file_);
    const auto start = to_hsize(*offset, "offset", ctx);
    const auto cnt = to_hsize(*slab, "count", ctx);
    check_status(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start.data(), nullptr, cnt.data(), nullptr),
                 "H5Sselect_hyperslab", ctx);
    mspace = make_space(*slab, nullptr, ctx);
  } else {
    const std::size_t n = space_points(fspace.get(), ctx);
    LDMG_CHECK(count == n, "{} {} values for dataset '{}' of {} elements in file '{}'", count, what, path_, n, file_);
  }
  if (count == 0) return;
  check_status(
      H5Dwrite(id(), mem_type, offset ? mspace.get() : H5S_ALL, offset ? fspace.get() : H5S_ALL, H5P_DEFAULT, data),
      "H5Dwrite", ctx);
}

void Dataset::read_raw(Hid mem_type, void* data, std::size_t count, const std::vector<std::int64_t>* offset,
                       const std::vector<std::int64_t>* slab) const {
  const Ctx ctx{file_, path_};
  if (count == 0) return;
  if (!offset) {
    check_status(H5Dread(id(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "H5Dread", ctx);
    return;
  }
  Handle fspace(check_id(H5Dget_space(id()), "H5Dget_space", ctx));
  const auto start = to_hsize(*offset, "offset", ctx);
  const auto cnt = to_hsize(*slab, "count", ctx);
  check_status(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start.data(), nullptr, cnt.data(), nullptr),
               "H5Sselect_hyperslab", ctx);
  Handle mspace = make_space(*slab, nullptr, ctx);
  check_status(H5Dread(id(), mem_type, mspace.get(), fspace.get(), H5P_DEFAULT, data), "H5Dread", ctx);
}

void Dataset::write(std::span<const float> values) { write_slab({}, {}, values); }

void Dataset::write_slab(const std::vector<std::int64_t>& offset, const std::vector<std::int64_t>& count,
                         std::span<const float> values) {
  init_thread();
  const bool slab = !offset.empty() || !count.empty();
  const ElemType t = type();
  LDMG_CHECK(t == ElemType::f32 || t == ElemType::f16 || t == ElemType::f64,
             "cannot write floats to dataset '{}' of type {} in file '{}'", path_, to_string(t), file_);
  if (t == ElemType::f16) {
    std::vector<std::uint16_t> bits(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) bits[i] = float_to_half(values[i]);
    Handle half = make_half_type(Ctx{file_, path_});
    write_raw(half.get(), bits.data(), bits.size(), "float", slab ? &offset : nullptr, slab ? &count : nullptr);
  } else {
    write_raw(H5T_NATIVE_FLOAT, values.data(), values.size(), "float", slab ? &offset : nullptr,
              slab ? &count : nullptr);
  }
}

void Dataset::write(std::span<const double> values) {
  const ElemType t = type();
  LDMG_CHECK(t == ElemType::f32 || t == ElemType::f16 || t == ElemType::f64,
             "cannot write doubles to dataset '{}' of type {} in file '{}'", path_, to_string(t), file_);
  if (t == ElemType::f16) {  // via float: double rounding is immaterial at half precision for our data
    std::vector<float> f(values.begin(), values.end());
    write(std::span<const float>(f));
    return;
  }
  write_raw(H5T_NATIVE_DOUBLE, values.data(), values.size(), "double");
}

void Dataset::write(std::span<const std::int64_t> values) {
  const ElemType t = type();
  LDMG_CHECK(t == ElemType::i64 || t == ElemType::i32 || t == ElemType::u8,
             "cannot write integers to dataset '{}' of type {} in file '{}'", path_, to_string(t), file_);
  write_raw(H5T_NATIVE_INT64, values.data(), values.size(), "int64");
}

void Dataset::write(std::span<const std::int32_t> values) {
  const ElemType t = type();
  LDMG_CHECK(t == ElemType::i64 || t == ElemType::i32,
             "cannot write int32 values to dataset '{}' of type {} in file '{}'", path_, to_string(t), file_);
  write_raw(H5T_NATIVE_INT32, values.data(), values.size(), "int32");
}

void Dataset::write(std::span<const std::uint8_t> values) {
  const ElemType t = type();
  LDMG_CHECK(t == ElemType::u8 || t == ElemType::i64 || t == ElemType::i32,
             "cannot write bytes to dataset '{}' of type {} in file '{}'", path_, to_string(t), file_);
  write_raw(H5T_NATIVE_UINT8, values.data(), values.size(), "uint8");
}

void Dataset::write(const std::vector<std::string>& values) {
  init_thread();
  const Ctx ctx{file_, path_};
  Handle ftype(check_id(H5Dget_type(id()), "H5Dget_type", ctx));
  LDMG_CHECK(H5Tget_class(ftype.get()) == H5T_STRING, "cannot write strings to dataset '{}' of type {} in file '{}'",
             path_, to_string(classify(ftype.get(), ctx)), file_);
  if (check_tri(H5Tis_variable_str(ftype.get()), "H5Tis_variable_str", ctx)) {
    std::vector<const char*> ptrs;
    for (const auto& s : values) ptrs.push_back(s.c_str());
    write_raw(ftype.get(), ptrs.data(), ptrs.size(), "string");
  } else {
    const std::size_t size = H5Tget_size(ftype.get());
    std::vector<char> buf(values.size() * size, '\0');
    for (std::size_t i = 0; i < values.size(); ++i) {
      LDMG_CHECK(values[i].size() <= size,
                 "string {} of {} bytes does not fit the {}-byte strings of dataset '{}' in file '{}'", i,
                 values[i].size(), size, path_, file_);
      std::memcpy(buf.data() + i * size, values[i].data(), values[i].size());
    }
    write_raw(ftype.get(), buf.data(), values.size(), "string");
  }
}

void Dataset::resize(const std::vector<std::int64_t>& shape) {
  init_thread();
  const Ctx ctx{file_, path_};
  const auto dims = to_hsize(shape, "dimension", ctx);
  check_status(H5Dset_extent(id(), dims.data()), "H5Dset_extent", ctx);
}

std::vector<float> Dataset::read_floats_impl(const std::vector<std::int64_t>* offset,
                                             const std::vector<std::int64_t>* count) const {
  init_thread();
  const Ctx ctx{file_, path_};
  Handle ftype(check_id(H5Dget_type(id()), "H5Dget_type", ctx));
  const ElemType t = classify(ftype.get(), ctx);
  LDMG_CHECK(is_float_class(ftype.get()) || is_integer_class(ftype.get()),
             "dataset '{}' in file '{}' holds {} values, expected numbers", path_, file_, to_string(t));
  const std::size_t n =
      static_cast<std::size_t>(offset ? product(*count) : static_cast<std::int64_t>(product(shape())));
  std::vector<float> out(n);
  if (t == ElemType::f16) {
    std::vector<std::uint16_t> bits(n);
    read_raw(ftype.get(), bits.data(), n, offset, count);
    for (std::size_t i = 0; i < n; ++i) out[i] = half_to_float(bits[i]);
  } else {
    read_raw(H5T_NATIVE_FLOAT, out.data(), n, offset, count);
  }
  return out;
}

std::vector<float> Dataset::read_floats() const { return read_floats_impl(nullptr, nullptr); }

std::vector<float> Dataset::read_floats_slab(const std::vector<std::int64_t>& offset,
                                             const std::vector<std::int64_t>& count) const {
  const auto dims = shape();
  LDMG_CHECK(offset.size() == dims.size() && count.size() == dims.size(),
             "slab offset/count ranks {}/{} differ from the rank {} of dataset '{}' in file '{}'", offset.size(),
             count.size(), dims.size(), path_, file_);
  for (std::size_t i = 0; i < dims.size(); ++i)
    LDMG_CHECK(offset[i] >= 0 && count[i] >= 0 && offset[i] + count[i] <= dims[i],
               "slab [{}, +{}) of dim {} exceeds the extent {} of dataset '{}' in file '{}'", offset[i], count[i], i,
               dims[i], path_, file_);
  return read_floats_impl(&offset, &count);
}

std::vector<double> Dataset::read_doubles() const {
  init_thread();
  const Ctx ctx{file_, path_};
  Handle ftype(check_id(H5Dget_type(id()), "H5Dget_type", ctx));
  const ElemType t = classify(ftype.get(), ctx);
  if (t == ElemType::f16) {
    const auto f = read_floats();
    return {f.begin(), f.end()};
  }
  LDMG_CHECK(is_float_class(ftype.get()) || is_integer_class(ftype.get()),
             "dataset '{}' in file '{}' holds {} values, expected numbers", path_, file_, to_string(t));
  std::vector<double> out(static_cast<std::size_t>(product(shape())));
  read_raw(H5T_NATIVE_DOUBLE, out.data(), out.size());
  return out;
}

std::vector<std::int64_t> Dataset::read_ints() const {
  init_thread();
  const Ctx ctx{file_, path_};
  Handle ftype(check_id(H5Dget_type(id()), "H5Dget_type", ctx));
  LDMG_CHECK(is_integer_class(ftype.get()), "dataset '{}' in file '{}' holds {} values, expected integers", path_,
             file_, to_string(classify(ftype.get(), ctx)));
  std::vector<std::int64_t> out(static_cast<std::size_t>(product(shape())));
  read_raw(H5T_NATIVE_INT64, out.data(), out.size());
  return out;
}

std::vector<std::uint8_t> Dataset::read_bytes() const {
  init_thread();
  const Ctx ctx{file_, path_};
  Handle ftype(check_id(H5Dget_type(id()), "H5Dget_type", ctx));
  LDMG_CHECK(classify(ftype.get(), ctx) == ElemType::u8, "dataset '{}' in file '{}' holds {} values, expected u8",
             path_, file_, to_string(classify(ftype.get(), ctx)));
  std::vector<std::uint8_t> out(static_cast<std::size_t>(product(shape())));
  read_raw(H5T_NATIVE_UINT8, out.data(), out.size());
  return out;
}

std::vector<std::string> Dataset::read_strings() const {
  init_thread();
  const Ctx ctx{file_, path_};
  Handle ftype(check_id(H5Dget_type(id()), "H5Dget_type", ctx));
  LDMG_CHECK(H5Tget_class(ftype.get()) == H5T_STRING, "dataset '{}' in file '{}' holds {} values, expected strings",
             path_, file_, to_string(classify(ftype.get(), ctx)));
  Handle space(check_id(H5Dget_space(id()), "H5Dget_space", ctx));
  const std::size_t n = space_points(space.get(), ctx);
  const hid_t ds = id();
  return read_string_elements(
      ftype.get(), space.get(), n,
      [ds](hid_t mem, void* buf) { return H5Dread(ds, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf); }, ctx);
}

// ---- Group -----------------------------------------------------------------

Group Group::create_group(const std::string& path) {
  init_thread();
  const std::string full = child_path(path);
  const Ctx ctx{file_, full};
  Handle lcpl = make_lcpl(ctx);
  Handle g(check_id(H5Gcreate2(id(), path.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT), "H5Gcreate2", ctx));
  return Group(std::move(g), file_, full);
}

Group Group::open_group(const std::string& path) const {
  init_thread();
  const std::string full = child_path(path);
  const Ctx ctx{file_, full};
  LDMG_CHECK(exists(path), "group '{}' not found in file '{}'", full, file_);
  Handle g(check_id(H5Gopen2(id(), path.c_str(), H5P_DEFAULT), "H5Gopen2", ctx));
  return Group(std::move(g), file_, full);
}

Group Group::require_group(const std::string& path) { return exists(path) ? open_group(path) : create_group(path); }

bool Group::exists(const std::string& path) const {
  init_thread();
  if (path.empty() || path == "." || path == "/") return true;
  const Ctx ctx{file_, child_path(path)};
  std::string prefix = path.front() == '/' ? "/" : "";
  std::size_t pos = prefix.size();
  while (pos <= path.size()) {
    std::size_t next = path.find('/', pos);
    if (next == std::string::npos) next = path.size();
    if (next > pos) {
      if (!prefix.empty() && prefix.back() != '/') prefix += '/';
      prefix += path.substr(pos, next - pos);
      if (check_tri(H5Lexists(id(), prefix.c_str(), H5P_DEFAULT), "H5Lexists", ctx) == 0) return false;
    }
    pos = next + 1;
  }
  // The link exists; does it resolve (external/soft links may dangle)?
  const htri_t resolves = H5Oexists_by_name(id(), path.c_str(), H5P_DEFAULT);
  if (resolves < 0) H5Eclear2(H5E_DEFAULT);  // e.g. the external file is missing
  return resolves > 0;
}

ObjectKind Group::kind(const std::string& path) const {
  if (!exists(path)) return ObjectKind::none;
  const Ctx ctx{file_, child_path(path)};
  Handle obj(check_id(H5Oopen(id(), path.c_str(), H5P_DEFAULT), "H5Oopen", ctx));
  switch (H5Iget_type(obj.get())) {
    case H5I_GROUP:
      return ObjectKind::group;
    case H5I_DATASET:
      return ObjectKind::dataset;
    default:
      return ObjectKind::other;
  }
}

std::vector<std::string> Group::members() const {
  init_thread();
  std::vector<std::string> names;
  auto cb = [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
    static_cast<std::vector<std::string>*>(data)->emplace_back(name);
    return 0;
  };
  check_status(H5Literate(id(), H5_INDEX_NAME, H5_ITER_INC, nullptr, cb, &names), "H5Literate", Ctx{file_, path_});
  return names;
}

void Group::remove(const std::string& path) {
  init_thread();
  check_status(H5Ldelete(id(), path.c_str(), H5P_DEFAULT), "H5Ldelete", Ctx{file_, child_path(path)});
}

Dataset Group::create_dataset(const std::string& path, ElemType type, const std::vector<std::int64_t>& shape,
                              const DatasetOptions& options) {
  init_thread();
  const std::string full = child_path(path);
  const Ctx ctx{file_, full};
  LDMG_CHECK(options.gzip_level >= 0 && options.gzip_level <= 9,
             "gzip level {} outside 0..9 for dataset '{}' in file '{}'", options.gzip_level, full, file_);
  Handle space = make_space(shape, &options.max_shape, ctx);
  Handle dcpl(check_id(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate(H5P_DATASET_CREATE)", ctx));
  const bool chunked =
      !options.chunk.empty() || options.shuffle || options.gzip_level > 0 || !options.max_shape.empty();
  if (chunked) {
    LDMG_CHECK(!shape.empty(), "a scalar dataset ('{}' in file '{}') cannot be chunked or compressed", full, file_);
    const auto chunk = options.chunk.empty() ? auto_chunk(shape) : options.chunk;
    LDMG_CHECK(chunk.size() == shape.size(), "chunk rank {} differs from the rank {} of dataset '{}' in file '{}'",
               chunk.size(), shape.size(), full, file_);
    for (std::size_t i = 0; i < chunk.size(); ++i) {
      const bool unlimited = !options.max_shape.empty() && options.max_shape[i] == -1;
      const std::int64_t limit = options.max_shape.empty() ? shape[i] : options.max_shape[i];
      LDMG_CHECK(chunk[i] > 0 && (unlimited || chunk[i] <= std::max<std::int64_t>(limit, 1)),
                 "chunk dim {} = {} must be in 1..{} for dataset '{}' in file '{}'", i, chunk[i], limit, full, file_);
    }
    const auto cdims = to_hsize(chunk, "chunk", ctx);
    check_status(H5Pset_chunk(dcpl.get(), static_cast<int>(cdims.size()), cdims.data()), "H5Pset_chunk", ctx);
    if (options.shuffle) check_status(H5Pset_shuffle(dcpl.get()), "H5Pset_shuffle", ctx);
    if (options.gzip_level > 0) {
      LDMG_CHECK(H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0,
                 "the HDF5 library lacks the deflate filter (dataset '{}' in file '{}')", full, file_);
      check_status(H5Pset_deflate(dcpl.get(), static_cast<unsigned>(options.gzip_level)), "H5Pset_deflate", ctx);
    }
  }
  Handle ftype = make_file_type(type, ctx);
  Handle lcpl = make_lcpl(ctx);
  Handle ds(check_id(H5Dcreate2(id(), path.c_str(), ftype.get(), space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT),
                     "H5Dcreate2", ctx));
  return Dataset(std::move(ds), file_, full);
}

Dataset Group::open_dataset(const std::string& path) const {
  init_thread();
  const std::string full = child_path(path);
  LDMG_CHECK(exists(path), "dataset '{}' not found in file '{}'", full, file_);
  Handle ds(check_id(H5Dopen2(id(), path.c_str(), H5P_DEFAULT), "H5Dopen2", Ctx{file_, full}));
  return Dataset(std::move(ds), file_, full);
}

Dataset Group::write_floats(const std::string& path, std::span<const float> values,
                            const std::vector<std::int64_t>& shape, const DatasetOptions& options, ElemType stored) {
  LDMG_CHECK(stored == ElemType::f32 || stored == ElemType::f16 || stored == ElemType::f64,
             "floats can be stored as f32, f16 or f64, not {} (dataset '{}' in file '{}')", to_string(stored),
             child_path(path), file_);
  Dataset ds = create_dataset(path, stored, shape, options);
  ds.write(values);
  return ds;
}

Dataset Group::write_doubles(const std::string& path, std::span<const double> values,
                             const std::vector<std::int64_t>& shape, const DatasetOptions& options) {
  Dataset ds = create_dataset(path, ElemType::f64, shape, options);
  ds.write(values);
  return ds;
}

Dataset Group::write_ints(const std::string& path, std::span<const std::int64_t> values,
                          const std::vector<std::int64_t>& shape, const DatasetOptions& options) {
  Dataset ds = create_dataset(path, ElemType::i64, shape, options);
  ds.write(values);
  return ds;
}

Dataset Group::write_bytes(const std::string& path, std::span<const std::uint8_t> values,
                           const std::vector<std::int64_t>& shape, const DatasetOptions& options) {
  Dataset ds = create_dataset(path, ElemType::u8, shape, options);
  ds.write(values);
  return ds;
}

Dataset Group::write_strings(const std::string& path, const std::vector<std::string>& values,
                             const DatasetOptions& options) {
  Dataset ds = create_dataset(path, ElemType::string, {static_cast<std::int64_t>(values.size())}, options);
  ds.write(values);
  return ds;
}

void Group::link_external(const std::string& name, const std::string& target_file, const std::string& target_path) {
  init_thread();
  const std::string full = child_path(name);
  const std::string extra = fmt::format("(external link to '{}' in '{}')", target_path, target_file);
  const Ctx ctx{file_, full, extra};
  Handle lcpl = make_lcpl(ctx);
  check_status(
      H5Lcreate_external(target_file.c_str(), target_path.c_str(), id(), name.c_str(), lcpl.get(), H5P_DEFAULT),
      "H5Lcreate_external", ctx);
}

void Group::link_soft(const std::string& name, const std::string& target_path) {
  init_thread();
  const std::string full = child_path(name);
  const std::string extra = fmt::format("(soft link to '{}')", target_path);
  const Ctx ctx{file_, full, extra};
  Handle lcpl = make_lcpl(ctx);
  check_status(H5Lcreate_soft(target_path.c_str(), id(), name.c_str(), lcpl.get(), H5P_DEFAULT), "H5Lcreate_soft", ctx);
}

Dataset Group::create_virtual_dataset(const std::string& path, ElemType type, const std::vector<std::int64_t>& shape,
                                      const std::vector<VirtualSource>& sources) {
  init_thread();
  const std::string full = child_path(path);
  const Ctx ctx{file_, full};
  LDMG_CHECK(!shape.empty(), "a virtual dataset needs rank >= 1 ('{}' in file '{}')", full, file_);
  Handle vspace = make_space(shape, nullptr, ctx);
  Handle dcpl(check_id(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate(H5P_DATASET_CREATE)", ctx));
  if (type == ElemType::f32 || type == ElemType::f64) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    check_status(H5Pset_fill_value(dcpl.get(), H5T_NATIVE_DOUBLE, &nan), "H5Pset_fill_value", ctx);
  } else if (type == ElemType::f16) {
    const std::uint16_t nan = 0x7e00;
    Handle half = make_half_type(ctx);
    check_status(H5Pset_fill_value(dcpl.get(), half.get(), &nan), "H5Pset_fill_value", ctx);
  }
  for (const auto& src : sources) {
    const std::string extra = fmt::format("(virtual source '{}' in '{}')", src.dataset, src.file);
    const Ctx sctx{file_, full, extra};
    LDMG_CHECK(src.offset.size() == shape.size() && src.shape.size() == shape.size(),
               "virtual source '{}' in '{}' has offset/shape ranks {}/{}, expected {} ('{}' in file '{}')", src.dataset,
               src.file, src.offset.size(), src.shape.size(), shape.size(), full, file_);
    for (std::size_t i = 0; i < shape.size(); ++i)
      LDMG_CHECK(src.offset[i] >= 0 && src.offset[i] + src.shape[i] <= shape[i],
                 "virtual source '{}' in '{}' does not fit dim {} (offset {} + {} > {}) of '{}' in file '{}'",
                 src.dataset, src.file, i, src.offset[i], src.shape[i], shape[i], full, file_);
    const auto start = to_hsize(src.offset, "offset", sctx);
    const auto count = to_hsize(src.shape, "shape", sctx);
    check_status(H5Sselect_hyperslab(vspace.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
                 "H5Sselect_hyperslab", sctx);
    Handle sspace = make_space(src.shape, nullptr, sctx);
    check_status(H5Pset_virtual(dcpl.get(), vspace.get(), src.file.c_str(), src.dataset.c_str(), sspace.get()),
                 "H5Pset_virtual", sctx);
  }
  check_status(H5Sselect_all(vspace.get()), "H5Sselect_all", ctx);
  Handle ftype = make_file_type(type, ctx);
  Handle lcpl = make_lcpl(ctx);
  Handle ds(check_id(H5Dcreate2(id(), path.c_str(), ftype.get(), vspace.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT),
                     "H5Dcreate2 (virtual)", ctx));
  return Dataset(std::move(ds), file_, full);
}

// ---- File ------------------------------------------------------------------

namespace {

Handle make_fapl(const Ctx& ctx) {
  Handle fapl(check_id(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate(H5P_FILE_ACCESS)", ctx));
#if H5_VERSION_GE(1, 10, 7)
  // Lock where the file system supports it; do not fail where it does not
  // (Lustre/NFS mounts without flock).
  check_status(H5Pset_file_locking(fapl.get(), true, true), "H5Pset_file_locking", ctx);
#endif
  return fapl;
}

}  // namespace

File File::create(const std::string& path, bool atomic) {
  init_thread();
  const std::string root = "/";
  const Ctx ctx{path, root};
  const std::string target = atomic ? path + ".tmp" : path;
  Handle fapl = make_fapl(ctx);
  File f;
  f.file_handle_ =
      Handle(check_id(H5Fcreate(target.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), "H5Fcreate", ctx));
  f.handle_ = Handle(check_id(H5Gopen2(f.file_handle_.get(), "/", H5P_DEFAULT), "H5Gopen2", ctx));
  f.file_ = path;
  f.path_ = root;
  if (atomic) f.tmp_path_ = target;
  return f;
}

File File::open(const std::string& path, Access access) {
  init_thread();
  const std::string root = "/";
  const Ctx ctx{path, root};
  std::error_code ec;
  LDMG_CHECK(std::filesystem::is_regular_file(path, ec), "HDF5 file not found: '{}'", path);
  Handle fapl = make_fapl(ctx);
  File f;
  f.file_handle_ = Handle(check_id(
      H5Fopen(path.c_str(), access == Access::read_only ? H5F_ACC_RDONLY : H5F_ACC_RDWR, fapl.get()), "H5Fopen", ctx));
  f.handle_ = Handle(check_id(H5Gopen2(f.file_handle_.get(), "/", H5P_DEFAULT), "H5Gopen2", ctx));
  f.file_ = path;
  f.path_ = root;
  return f;
}

File::File(File&& o) noexcept
    : Group(std::move(o)), file_handle_(std::move(o.file_handle_)), tmp_path_(std::move(o.tmp_path_)) {
  o.tmp_path_.clear();
}

File& File::operator=(File&& o) noexcept {
  if (this != &o) {
    abandon();
    handle_ = std::move(o.handle_);
    file_ = std::move(o.file_);
    path_ = std::move(o.path_);
    file_handle_ = std::move(o.file_handle_);
    tmp_path_ = std::move(o.tmp_path_);
    o.tmp_path_.clear();
  }
  return *this;
}

void File::abandon() noexcept {
  handle_.reset();
  file_handle_.reset();
  if (!tmp_path_.empty()) {
    ::unlink(tmp_path_.c_str());  // an abandoned atomic create
    tmp_path_.clear();
  }
}

File::~File() { abandon(); }

void File::flush() {
  init_thread();
  LDMG_CHECK(file_handle_.valid(), "HDF5 file '{}' is closed", file_);
  check_status(H5Fflush(file_handle_.get(), H5F_SCOPE_LOCAL), "H5Fflush", Ctx{file_, path_});
}

void File::close_checked(const char* why) {
  init_thread();
  LDMG_CHECK(file_handle_.valid(), "HDF5 file '{}' is already closed", file_);
  const Ctx ctx{file_, path_};
  // Objects only, not file ids: HDF5 1.10 counts the id of every *other*
  // file whose H5Fclose failed (it stays valid, e.g. after a full disk) as
  // one of this file's, which made every later commit fail.
  const ssize_t open = H5Fget_obj_count(
      file_handle_.get(), H5F_OBJ_DATASET | H5F_OBJ_GROUP | H5F_OBJ_DATATYPE | H5F_OBJ_ATTR | H5F_OBJ_LOCAL);
  if (open < 0) fail("H5Fget_obj_count", ctx);
  // Our root group is expected; anything else is a caller's Group/Dataset
  // still alive, which would keep the file open past close.
  LDMG_CHECK(open <= 1, "cannot {} HDF5 file '{}': {} group/dataset/attribute handle(s) still open", why, file_,
             open - 1);
  handle_.reset();
  const hid_t fid = file_handle_.release();  // closed below, whatever the outcome
  if (H5Fclose(fid) < 0) fail("H5Fclose", ctx);
}

void File::close() {
  close_checked("close");
  if (!tmp_path_.empty()) {
    ::unlink(tmp_path_.c_str());
    tmp_path_.clear();
  }
}

void File::commit() {
  const std::string tmp = tmp_path_;
  close_checked("commit");
  if (tmp.empty()) return;
  const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  LDMG_CHECK(fd >= 0, "cannot reopen '{}' to flush it: {}", tmp, std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  LDMG_CHECK(rc == 0, "cannot flush '{}': {}", tmp, std::strerror(err));
  if (std::rename(tmp.c_str(), file_.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    tmp_path_.clear();
    LDMG_FAIL("cannot rename '{}' to '{}': {}", tmp, file_, std::strerror(e));
  }
  tmp_path_.clear();
}

}  // namespace ldmg::io::h5
