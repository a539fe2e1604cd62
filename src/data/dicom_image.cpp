#include "data/dicom_image.h"

#include <gdcmAttribute.h>
#include <gdcmImage.h>
#include <gdcmImageReader.h>
#include <gdcmReader.h>
#include <gdcmTrace.h>
#include <gdcmUIDs.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <mutex>
#include <optional>
#include <sstream>

#include "core/check.h"
#include "core/log.h"
#include "data/dicom_structure.h"
#include "data/dicom_to_8bit.h"
#include "io/file_bytes.h"

namespace ldmg::data {

namespace {

const gdcm::Tag kPixelData(0x7fe0, 0x0010);

// GDCM reports through gdcm::Trace, straight to std::cerr from inside the
// library ("Warning: In .../gdcmBitmap.cxx, line 847 ... Encapsulated stream
// has more bits actually stored on disk. correcting." for a JPEG 2000 file,
// e.g.), between our log lines and once per image in a sweep. Its warnings
// and debug output are turned off for the whole process on the first use;
// its error messages go to a buffer that a failing read adds to our
// exception, which names the file. The trace is global state, so every GDCM
// call of this file holds the lock.
class GdcmSession {
 public:
  GdcmSession() : lock_(mutex()) {
    static std::once_flag once;
    std::call_once(once, [] {
      gdcm::Trace::SetDebug(false);
      gdcm::Trace::SetWarning(false);
      gdcm::Trace::SetError(true);
      gdcm::Trace::SetErrorStream(errors());
    });
    errors().str({});
    errors().clear();
  }
  // What GDCM reported as errors since the session began, on one line; empty when nothing.
  static std::string reported() {
    std::string text = errors().str(), out;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      if (line.empty() || line.rfind("Error: In ", 0) == 0) continue;  // the source location header
      out += (out.empty() ? "" : "; ") + line;
    }
    if (out.size() > 400) out = out.substr(0, 400) + "...";
    return out.empty() ? out : " (GDCM: " + out + ")";
  }

 private:
  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }
  static std::ostringstream& errors() {
    static std::ostringstream s;
    return s;
  }
  std::lock_guard<std::mutex> lock_;
};

// A string-valued attribute (CS, DS, IS, LO, ...) as written, without the
// trailing space / NUL padding; empty when absent.
std::string text_attribute(const gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element) {
  const gdcm::Tag tag(group, element);
  if (!ds.FindDataElement(tag)) return {};
  const gdcm::ByteValue* bv = ds.GetDataElement(tag).GetByteValue();
  if (!bv || !bv->GetPointer()) return {};
  std::string s(bv->GetPointer(), static_cast<std::size_t>(bv->GetLength()));
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  while (!s.empty() && s.front() == ' ') s.erase(s.begin());
  return s;
}

// A multi-valued decimal string ("0.139\0.139"). A value that is not a number
// throws when `strict` (the conversion needs it), else is logged and dropped
// (a malformed provenance-only attribute must not make the X-ray unreadable).
std::vector<double> decimal_attribute(const gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element,
                                      const std::string& source, bool strict = false) {
  const std::string s = text_attribute(ds, group, element);
  std::vector<double> out;
  if (s.empty()) return out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const std::size_t end = std::min(s.find('\\', start), s.size());
    std::string_view v(s.data() + start, end - start);
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
    if (!v.empty() && v.front() == '+') v.remove_prefix(1);
    double x = 0;
    const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
    if (v.empty() || ec != std::errc() || ptr != v.data() + v.size() || !std::isfinite(x)) {
      LDMG_CHECK(!strict, "'{}': attribute ({:04x},{:04x}) value '{}' is not a decimal number", source, group, element,
                 s);
      log::warn("'{}': attribute ({:04x},{:04x}) value '{}' is not a decimal number; not recorded", source, group,
                element, s);
      return {};
    }
    out.push_back(x);
    start = end + 1;
  }
  return out;
}

// Stored values of one frame, sign-extended from BitsStored for signed data
// (as pydicom's pixel_array gives them); unsigned values are kept as stored.
std::vector<std::int32_t> stored_values(const std::vector<char>& buffer, const gdcm::PixelFormat& pf, std::size_t n,
                                        const std::string& source) {
  std::vector<std::int32_t> v(n);
  const int bits_stored = pf.GetBitsStored();
  const bool is_signed = pf.GetPixelRepresentation() == 1;
  const auto extend = [&](std::uint32_t raw) -> std::int32_t {
    if (!is_signed) return static_cast<std::int32_t>(raw);
    const std::uint32_t mask = bits_stored >= 32 ? 0xffffffffu : ((1u << bits_stored) - 1);
    raw &= mask;
    const std::uint32_t sign = 1u << (bits_stored - 1);
    return static_cast<std::int32_t>((raw ^ sign)) - static_cast<std::int32_t>(sign);
  };
  if (pf.GetBitsAllocated() == 8) {
    LDMG_CHECK(buffer.size() >= n, "'{}': decoded pixel data has {} bytes, expected {}", source, buffer.size(), n);
    for (std::size_t i = 0; i < n; ++i) v[i] = extend(static_cast<std::uint8_t>(buffer[i]));
  } else {
    LDMG_CHECK(buffer.size() >= 2 * n, "'{}': decoded pixel data has {} bytes, expected {}", source, buffer.size(),
               2 * n);
    for (std::size_t i = 0; i < n; ++i) {
      std::uint16_t raw;
      std::memcpy(&raw, buffer.data() + 2 * i, 2);  // GDCM hands out native byte order
      v[i] = extend(raw);
    }
  }
  return v;
}

// `strict`: the conversion uses the Modality LUT and window, so they must parse.
DicomInfo header_info(const gdcm::Image& image, const gdcm::DataSet& ds, const std::string& source, bool strict) {
  DicomInfo info;
  const gdcm::TransferSyntax& ts = image.GetTransferSyntax();
  info.transfer_syntax = ts.GetString() ? ts.GetString() : "";
  gdcm::UIDs uid;
  if (!info.transfer_syntax.empty() && uid.SetFromUID(info.transfer_syntax.c_str()) && uid.GetName())
    info.transfer_syntax_name = uid.GetName();
  const char* pi = image.GetPhotometricInterpretation().GetString();
  info.photometric = pi ? pi : "";
  while (!info.photometric.empty() && info.photometric.back() == ' ') info.photometric.pop_back();
  info.modality = text_attribute(ds, 0x0008, 0x0060);
  const gdcm::PixelFormat& pf = image.GetPixelFormat();
  info.bits_allocated = pf.GetBitsAllocated();
  info.bits_stored = pf.GetBitsStored();
  info.pixel_signed = pf.GetPixelRepresentation() == 1;
  const auto slope = decimal_attribute(ds, 0x0028, 0x1053, source, strict);
  const auto intercept = decimal_attribute(ds, 0x0028, 0x1052, source, strict);
  if (!slope.empty()) info.rescale_slope = slope.front();
  if (!intercept.empty()) info.rescale_intercept = intercept.front();
  info.window_center = decimal_attribute(ds, 0x0028, 0x1050, source, strict);
  info.window_width = decimal_attribute(ds, 0x0028, 0x1051, source, strict);
  info.voi_lut_function = text_attribute(ds, 0x0028, 0x1056);
  info.has_voi_lut_sequence = ds.FindDataElement(gdcm::Tag(0x0028, 0x3010));
  info.pixel_spacing = decimal_attribute(ds, 0x0028, 0x0030, source);
  info.imager_pixel_spacing = decimal_attribute(ds, 0x0018, 0x1164, source);
  info.view_position = text_attribute(ds, 0x0018, 0x5101);
  info.patient_orientation = text_attribute(ds, 0x0020, 0x0020);
  info.image_orientation_patient = decimal_attribute(ds, 0x0020, 0x0037, source);
  return info;
}

}  // namespace

GrayImage decode_dicom(std::string_view bytes, const std::string& source, const ImageOptions& options) {
  check_dicom_structure(bytes, source);  // before GDCM, which aborts on some truncations
  std::optional<GdcmSession> gdcm_session(std::in_place);  // until the pixel data is out of GDCM
  gdcm::ImageReader reader;
  std::istringstream in{std::string(bytes)};
  reader.SetStream(in);
  LDMG_CHECK(reader.Read(),
             "cannot read DICOM '{}': GDCM could not parse it as a DICOM image (not DICOM, a truncated or corrupt "
             "header, or no Pixel Data element){}",
             source, GdcmSession::reported());
  const gdcm::Image& image = reader.GetImage();
  const gdcm::DataSet& ds = reader.GetFile().GetDataSet();
  const gdcm::PixelFormat& pf = image.GetPixelFormat();
  LDMG_CHECK(pf.GetSamplesPerPixel() == 1,
             "'{}': DICOM with {} samples per pixel (colour) is not supported; chest X-rays are MONOCHROME1/2", source,
             pf.GetSamplesPerPixel());
  DicomInfo info = header_info(image, ds, source, options.dicom == DicomConversion::window);
  LDMG_CHECK(info.photometric == "MONOCHROME1" || info.photometric == "MONOCHROME2",
             "'{}': Photometric Interpretation '{}' is not supported; expected MONOCHROME1 or MONOCHROME2", source,
             info.photometric);
  LDMG_CHECK(pf.GetBitsAllocated() == 8 || pf.GetBitsAllocated() == 16,
             "'{}': {} bits allocated per pixel is not supported; expected 8 or 16", source, pf.GetBitsAllocated());
  LDMG_CHECK(pf.GetBitsStored() >= 1 && pf.GetBitsStored() <= pf.GetBitsAllocated(),
             "'{}': Bits Stored {} is not within 1..Bits Allocated ({})", source, pf.GetBitsStored(),
             pf.GetBitsAllocated());
  const unsigned frames = image.GetNumberOfDimensions() >= 3 ? image.GetDimension(2) : 1;
  LDMG_CHECK(frames == 1, "'{}': DICOM with {} frames; expected one image", source, frames);
  const unsigned width = image.GetColumns(), height = image.GetRows();
  LDMG_CHECK(width > 0 && height > 0 && width <= 65535 && height <= 65535, "'{}': DICOM image size {}x{} is invalid",
             source, width, height);
  const std::size_t n = static_cast<std::size_t>(width) * height;

  // Uncompressed Pixel Data must hold Rows x Columns x BitsAllocated/8 bytes
  // (that the file holds what it declares, check_dicom_structure saw).
  const gdcm::TransferSyntax& ts = image.GetTransferSyntax();
  if (!ts.IsEncapsulated() && ds.FindDataElement(kPixelData)) {
    const gdcm::DataElement& de = ds.GetDataElement(kPixelData);
    const std::size_t expected = n * (pf.GetBitsAllocated() / 8);
    const std::size_t declared = de.GetByteValue() ? static_cast<std::size_t>(de.GetByteValue()->GetLength()) : 0;
    LDMG_CHECK(declared >= expected, "'{}': Pixel Data has {} bytes but {}x{} pixels of {} bits need {}", source,
               declared, width, height, pf.GetBitsAllocated(), expected);
  }
  std::vector<char> buffer(image.GetBufferLength());
  LDMG_CHECK(!buffer.empty() && image.GetBuffer(buffer.data()),
             "cannot decode the pixel data of DICOM '{}' (transfer syntax {}{}): corrupt or truncated compressed "
             "data, or a codec GDCM lacks{}",
             source, info.transfer_syntax, info.transfer_syntax_name.empty() ? "" : " " + info.transfer_syntax_name,
             GdcmSession::reported());
  gdcm_session.reset();
  const std::vector<std::int32_t> stored = stored_values(buffer, pf, n, source);
  const auto [lo, hi] = std::minmax_element(stored.begin(), stored.end());
  info.stored_min = *lo;
  info.stored_max = *hi;

  GrayImage img;
  img.format = ImageFormat::dicom;
  img.width = static_cast<int>(width);
  img.height = static_cast<int>(height);
  if (options.dicom == DicomConversion::mimic_jpg) {
    info.conversion = "mimic_jpg";
    img.pixels = min_max_to_8bit(stored);
    if (info.photometric == "MONOCHROME1") invert_8bit(img.pixels);
    equalize_histogram(img.pixels);
  } else {
    info.conversion = "window";
    std::vector<double> modality(n);
    for (std::size_t i = 0; i < n; ++i) modality[i] = stored[i] * info.rescale_slope + info.rescale_intercept;
    if (!info.window_center.empty() && !info.window_width.empty()) {
      VoiWindow w{info.window_center.front(), info.window_width.front(),
                  parse_voi_function(info.voi_lut_function, source)};
      LDMG_CHECK(w.function == VoiFunction::linear ? w.width >= 1 : w.width > 0,
                 "'{}': Window Width {} is invalid for VOI LUT Function {} (PS3.3 C.11.2.1.2)", source, w.width,
                 to_string(w.function));
      info.window_used = fmt::format("center {} width {} {}", w.center, w.width, to_string(w.function));
      img.pixels.resize(n);
      for (std::size_t i = 0; i < n; ++i) img.pixels[i] = apply_voi_window(modality[i], w);
    } else {
      info.window_used = info.has_voi_lut_sequence ? "min-max (the file's VOI LUT Sequence is not applied)" : "min-max";
      if (info.has_voi_lut_sequence)
        log::warn("'{}': VOI LUT Sequence (table) is not applied; min-max of the modality values is used", source);
      img.pixels = modality_min_max_to_8bit(modality);
    }
    if (info.photometric == "MONOCHROME1") invert_8bit(img.pixels);
  }
  img.dicom = std::move(info);
  return img;
}

ImageSize read_dicom_size(const std::string& path) {
  // The whole file passes the structural check first (GDCM aborts on some
  // truncated headers); only the header is parsed.
  const std::string bytes = io::read_file_bytes(path);
  check_dicom_structure(bytes, path);
  const GdcmSession gdcm_session;
  std::istringstream in(bytes);
  gdcm::Reader reader;
  reader.SetStream(in);
  LDMG_CHECK(reader.ReadUpToTag(kPixelData), "cannot read the DICOM header of '{}': GDCM could not parse it{}", path,
             GdcmSession::reported());
  const gdcm::DataSet& ds = reader.GetFile().GetDataSet();
  LDMG_CHECK(ds.FindDataElement(gdcm::Tag(0x0028, 0x0010)) && ds.FindDataElement(gdcm::Tag(0x0028, 0x0011)),
             "cannot read the DICOM header of '{}': Rows (0028,0010) or Columns (0028,0011) missing", path);
  gdcm::Attribute<0x0028, 0x0010> rows;
  gdcm::Attribute<0x0028, 0x0011> columns;
  rows.SetFromDataSet(ds);
  columns.SetFromDataSet(ds);
  LDMG_CHECK(rows.GetValue() > 0 && columns.GetValue() > 0, "'{}': DICOM image size {}x{} is invalid", path,
             columns.GetValue(), rows.GetValue());
  return {static_cast<int>(columns.GetValue()), static_cast<int>(rows.GetValue()), ImageFormat::dicom};
}

}  // namespace ldmg::data
