#pragma once
// Structural check of a DICOM file before GDCM parses it: the file meta
// information (group 0002) is complete and names a transfer syntax, and every
// data element, sequence item and pixel data fragment of the data set lies
// within the file. Debian's GDCM 3.0 aborts the process on an assertion when
// a file ends inside an element, and pads truncated uncompressed Pixel Data
// with zeros; a truncated X-ray must be an ldmg::Error naming the file instead
// (one bad file fails its sweep unit, not the rank).
//
// Little-endian explicit and implicit VR and explicit big endian are walked;
// a deflated data set (1.2.840.10008.1.2.1.99) is left to GDCM. Without the
// 128-byte preamble + "DICM" the encoding is guessed from the first element
// (explicit when bytes 4-5 are an upper-case VR), as GDCM does.
#include <string>
#include <string_view>

namespace ldmg::data {

// Throws ldmg::Error naming `source`, the element and the byte offset.
void check_dicom_structure(std::string_view bytes, const std::string& source);

}  // namespace ldmg::data
