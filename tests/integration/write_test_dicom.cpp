// write_test_dicom OUT.dcm: the DICOM of dicom_pattern.h, for the CLI tests
// (dicom_cli_test.sh), which have no other way to make one.
#include <exception>
#include <iostream>

#include "dicom_pattern.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: write_test_dicom OUT.dcm\n";
    return 2;
  }
  try {
    ldmg::test::write_dicom(argv[1], ldmg::test::window_pattern_spec());
  } catch (const std::exception& e) {
    std::cerr << "write_test_dicom: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
