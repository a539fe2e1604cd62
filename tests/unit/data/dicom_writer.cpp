#include "dicom_writer.h"

#include <gdcmImage.h>
#include <gdcmImageChangeTransferSyntax.h>
#include <gdcmImageWriter.h>
#include <gdcmUIDGenerator.h>

#include <stdexcept>

namespace ldmg::test {

namespace {

// A string attribute, padded to even length as DICOM requires.
void put_text(gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element, gdcm::VR vr, std::string value) {
  if (value.empty()) return;
  if (value.size() % 2) value += vr == gdcm::VR::UI ? '\0' : ' ';
  gdcm::DataElement de(gdcm::Tag(group, element));
  de.SetVR(vr);
  de.SetByteValue(value.data(), static_cast<std::uint32_t>(value.size()));
  ds.Replace(de);
}

}  // namespace

void write_dicom(const std::string& path, const DicomSpec& spec) {
  if (spec.pixels.size() != static_cast<std::size_t>(spec.width) * spec.height)
    throw std::runtime_error("write_dicom: pixel count does not match the size");
  gdcm::SmartPointer<gdcm::Image> image = new gdcm::Image;
  image->SetNumberOfDimensions(2);
  image->SetDimension(0, static_cast<unsigned>(spec.width));
  image->SetDimension(1, static_cast<unsigned>(spec.height));
  gdcm::PixelFormat pf(gdcm::PixelFormat::UINT16);
  pf.SetBitsStored(static_cast<unsigned short>(spec.bits_stored));
  pf.SetHighBit(static_cast<unsigned short>(spec.bits_stored - 1));
  image->SetPixelFormat(pf);
  image->SetPhotometricInterpretation(spec.monochrome1 ? gdcm::PhotometricInterpretation::MONOCHROME1
                                                       : gdcm::PhotometricInterpretation::MONOCHROME2);
  image->SetTransferSyntax(gdcm::TransferSyntax::ExplicitVRLittleEndian);
  // GDCM writes the Modality LUT from the image (replacing the data set's).
  if (!spec.rescale_slope.empty()) image->SetSlope(std::stod(spec.rescale_slope));
  if (!spec.rescale_intercept.empty()) image->SetIntercept(std::stod(spec.rescale_intercept));
  // GDCM writes the image spacing as ImagerPixelSpacing for CR (replacing
  // what the data set says), so it carries the wanted value.
  if (!spec.imager_pixel_spacing.empty()) {
    const std::size_t sep = spec.imager_pixel_spacing.find('\\');
    image->SetSpacing(1, std::stod(spec.imager_pixel_spacing.substr(0, sep)));  // row spacing
    image->SetSpacing(0, std::stod(spec.imager_pixel_spacing.substr(sep + 1)));
  }
  gdcm::DataElement pixel_data(gdcm::Tag(0x7fe0, 0x0010));
  pixel_data.SetByteValue(reinterpret_cast<const char*>(spec.pixels.data()),
                          static_cast<std::uint32_t>(spec.pixels.size() * 2));
  image->SetDataElement(pixel_data);

  gdcm::ImageWriter writer;
  const auto ts = static_cast<gdcm::TransferSyntax::TSType>(
      spec.transfer_syntax.value_or(gdcm::TransferSyntax::ExplicitVRLittleEndian));
  if (ts != gdcm::TransferSyntax::ExplicitVRLittleEndian) {
    gdcm::ImageChangeTransferSyntax change;
    change.SetTransferSyntax(ts);
    change.SetInput(*image);
    if (!change.Change())
      throw std::runtime_error(std::string("write_dicom: GDCM cannot encode ") + gdcm::TransferSyntax::GetTSString(ts));
    writer.SetImage(change.GetOutput());
  } else {
    writer.SetImage(*image);
  }
  gdcm::DataSet& ds = writer.GetFile().GetDataSet();
  put_text(ds, 0x0008, 0x0016, gdcm::VR::UI, "1.2.840.10008.5.1.4.1.1.1");  // CR Image Storage
  gdcm::UIDGenerator uid;
  put_text(ds, 0x0008, 0x0018, gdcm::VR::UI, uid.Generate());
  put_text(ds, 0x0008, 0x0060, gdcm::VR::CS, "CR");
  put_text(ds, 0x0028, 0x1050, gdcm::VR::DS, spec.window_center);
  put_text(ds, 0x0028, 0x1051, gdcm::VR::DS, spec.window_width);
  put_text(ds, 0x0028, 0x1056, gdcm::VR::CS, spec.voi_lut_function);
  put_text(ds, 0x0028, 0x0030, gdcm::VR::DS, spec.pixel_spacing);
  put_text(ds, 0x0018, 0x1164, gdcm::VR::DS, spec.imager_pixel_spacing);
  put_text(ds, 0x0018, 0x5101, gdcm::VR::CS, spec.view_position);
  put_text(ds, 0x0020, 0x0020, gdcm::VR::CS, spec.patient_orientation);
  writer.SetFileName(path.c_str());
  if (!writer.Write()) throw std::runtime_error("write_dicom: GDCM could not write " + path);
}

}  // namespace ldmg::test
