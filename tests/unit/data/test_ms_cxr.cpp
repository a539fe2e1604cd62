// MS-CXR reading: the fixture CSV against golden metrics.json (prompts,
// categories, class order, merged boxes), and hand-made CSV edge cases.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/check.h"
#include "data/ms_cxr.h"
#include "golden.h"
#include "support/fixtures.h"

using namespace ldmg;
using namespace ldmg::data;
namespace fs = std::filesystem;

namespace {

const std::string kHeader = "dicom_id,category_name,label_text,path,x,y,w,h,image_width,image_height\n";

MsCxrDataset from_text(const std::string& text, const MsCxrOptions& opt = {}) {
  return parse_ms_cxr(parse_csv(text, "ms.csv"), opt);
}

std::string error_of(const std::string& text, const MsCxrOptions& opt = {}) {
  try {
    from_text(text, opt);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::vector<Box> boxes_of(const nlohmann::json& j) {
  std::vector<Box> out;
  for (const auto& b : j) out.push_back(Box{b[0].get<int>(), b[1].get<int>(), b[2].get<int>(), b[3].get<int>()});
  return out;
}

}  // namespace

TEST(MsCxr, FixtureCsvMatchesGoldenPairs) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  MsCxrOptions opt;
  opt.images_root = ldmg::test::parity_dir() + "/dataset/images";
  opt.require_images = true;
  const MsCxrDataset ds = read_ms_cxr(ldmg::test::parity_dir() + "/dataset/ms_cxr.csv", opt);
  const auto m = ldmg::test::golden_metrics("T20");
  ASSERT_EQ(ds.size(), 9u);  // 11 rows, two merges
  EXPECT_EQ(ds.categories(), m["class_names_order"].get<std::vector<std::string>>());
  for (const auto& s : m["per_sample"]) {
    const int i = s["pair_index"].get<int>();
    const Pair& p = ds[i];
    EXPECT_EQ(p.index, i);
    EXPECT_EQ(p.prompt, s["prompt"].get<std::string>()) << i;
    EXPECT_EQ(p.category, s["category"].get<std::string>()) << i;
    EXPECT_EQ(fs::path(p.image_path), fs::canonical(ldmg::test::parity_dir() + "/" + s["image"].get<std::string>()));
    if (!s["skipped"].get<bool>() && i != 6)  // pair 6 keeps all its boxes only by the halo (test_box_survival)
      EXPECT_EQ(p.boxes, boxes_of(s["original_bbox"])) << i;
  }
  // Merged pairs: rows 2+3 (pair 1), rows 8+9 (pair 6), boxes in CSV order.
  EXPECT_EQ(ds[1].rows, (std::vector<int>{2, 3}));
  EXPECT_EQ(ds[1].boxes, (std::vector<Box>{{90, 250, 170, 200}, {440, 230, 190, 220}}));
  EXPECT_EQ(ds[6].boxes, (std::vector<Box>{{100, 5, 200, 40}, {120, 250, 330, 300}}));
  EXPECT_EQ(ds[6].csv_width, 575);
  EXPECT_EQ(ds[6].csv_height, 702);
  // Same image, another sentence: a separate pair (pair 7 after pair 6).
  EXPECT_EQ(ds[7].prompt, "Consolidation in the right lower lobe.");
  EXPECT_EQ(ds[7].path, ds[1].path);
}

TEST(MsCxr, MergeKeepsFirstRowFieldsAndDuplicateRows) {
  const std::string csv = kHeader +
                          "d1,Edema,\"Edema, mild\",a/1.jpg,1,2,3,4,100,90\n"
                          "d2,Pneumonia,Other,a/1.jpg,5,5,5,5,100,90\n"
                          "d3,Cardiomegaly,\"Edema, mild\",a/1.jpg,10,20,30,40,100,90\n"
                          "d3,Cardiomegaly,\"Edema, mild\",a/1.jpg,10,20,30,40,100,90\n"
                          "d4,Edema,\"Edema, mild\",b/2.jpg,1,1,1,1,50,50\n";
  const MsCxrDataset ds = from_text(csv);
  ASSERT_EQ(ds.size(), 3u);
  EXPECT_EQ(ds[0].dicom_id, "d1");
  EXPECT_EQ(ds[0].category, "Edema");
  EXPECT_EQ(ds[0].prompt, "Edema, mild");
  // pandas groupby keeps both identical rows: the box appears twice.
  EXPECT_EQ(ds[0].boxes, (std::vector<Box>{{1, 2, 3, 4}, {10, 20, 30, 40}, {10, 20, 30, 40}}));
  EXPECT_EQ(ds[0].rows, (std::vector<int>{1, 3, 4}));
  EXPECT_EQ(ds[1].prompt, "Other");
  EXPECT_EQ(ds[2].path, "b/2.jpg");
  // Categories of first rows only, first appearance.
  EXPECT_EQ(ds.categories(), (std::vector<std::string>{"Edema", "Pneumonia"}));
}

TEST(MsCxr, ExtraColumnsAllowedMissingColumnsNamed) {
  // v1.1.0-like: `split` plus an unknown column, in another order.
  const std::string csv =
      "split,path,dicom_id,note,category_name,label_text,x,y,w,h,image_width,image_height\r\n"
      "test,p/1.jpg,d,\"free, text\",Edema,Mild edema.,1,2,3,4,10,10\r\n";
  const MsCxrDataset ds = from_text(csv);
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].split, "test");
  EXPECT_EQ(ds[0].boxes[0], (Box{1, 2, 3, 4}));
  const std::string e = error_of("dicom_id,category_name,path,x,y,w,image_width,image_height\n");
  EXPECT_NE(e.find("missing column(s) label_text, h"), std::string::npos) << e;
  EXPECT_NE(e.find("'ms.csv'"), std::string::npos) << e;
}

TEST(MsCxr, InvalidValuesNameRowAndColumn) {
  auto row = [](const std::string& fields) { return kHeader + "d,Edema,ok,p/1.jpg,1,1,1,1,10,10\n" + fields + "\n"; };
  std::string e = error_of(row("d,Edema,t,p/1.jpg,abc,1,1,1,10,10"));
  EXPECT_NE(e.find("'ms.csv' row 2 (line 3), column 'x': 'abc' is not a number"), std::string::npos) << e;
  e = error_of(row("d,Edema,t,p/1.jpg,1,NaN,1,1,10,10"));
  EXPECT_NE(e.find("row 2 (line 3), column 'y'"), std::string::npos) << e;
  e = error_of(row("d,Edema,t,p/1.jpg,1,1,-3,1,10,10"));
  EXPECT_NE(e.find("row 2 (line 3), column 'w': -3 is out of range"), std::string::npos) << e;
  e = error_of(row("d,Edema,t,p/1.jpg,1,1,1,0,10,10"));
  EXPECT_NE(e.find("column 'h'"), std::string::npos) << e;
  e = error_of(row("d,Edema,t,p/1.jpg,1.5,1,1,1,10,10"));
  EXPECT_NE(e.find("'1.5' is not an integer"), std::string::npos) << e;
  e = error_of(row("d,Edema,t,p/1.jpg,1,1,1,1,inf,10"));
  EXPECT_NE(e.find("column 'image_width'"), std::string::npos) << e;
  e = error_of(row("d,Edema,,p/1.jpg,1,1,1,1,10,10"));
  EXPECT_NE(e.find("row 2 (line 3), column 'label_text': empty value"), std::string::npos) << e;
  // "330.0" is an integer written as a float: accepted.
  EXPECT_EQ(from_text(row("d,Edema,t,p/1.jpg,3.0,1,1,1,10,10"))[1].boxes[0].x, 3);
}

TEST(MsCxr, OutOfBoundsBoxesWarnOrFail) {
  const std::string csv = kHeader + "d,Edema,t,p/1.jpg,8,8,5,5,10,10\n";
  EXPECT_EQ(from_text(csv)[0].boxes[0], (Box{8, 8, 5, 5}));  // kept; the raster clips it
  MsCxrOptions strict;
  strict.strict_bounds = true;
  const std::string e = error_of(csv, strict);
  EXPECT_NE(e.find("row 1 (line 2)"), std::string::npos) << e;
  EXPECT_NE(e.find("not inside the image 10x10"), std::string::npos) << e;
}

TEST(MsCxr, PathsMayNotEscapeTheImagesRoot) {
  const std::string root = ldmg::test::temp_dir("data_root");
  const std::string outside = ldmg::test::temp_dir("data_outside");
  fs::create_directories(root + "/files/p1");
  std::ofstream(root + "/files/p1/a.jpg") << "x";
  std::ofstream(outside + "/secret.jpg") << "x";
  fs::create_directory_symlink(outside, root + "/files/link");
  MsCxrOptions opt;
  opt.images_root = root;
  auto csv = [](const std::string& path) { return kHeader + "d,Edema,t," + path + ",1,1,1,1,10,10\n"; };

  EXPECT_EQ(from_text(csv("files/p1/a.jpg"), opt)[0].image_path, fs::canonical(root + "/files/p1/a.jpg").string());
  std::string e = error_of(csv("files/../../x.jpg"), opt);
  EXPECT_NE(e.find("contains '..'"), std::string::npos) << e;
  EXPECT_NE(e.find("row 1 (line 2), column 'path'"), std::string::npos) << e;
  e = error_of(csv("/etc/passwd"), opt);
  EXPECT_NE(e.find("is absolute"), std::string::npos) << e;
  // Without an images root the lexical checks still apply (fuzz finding:
  // parse_ms_cxr accepted "/p10/..." when no root was given).
  e = error_of(csv("/p10/a.png"), MsCxrOptions{});
  EXPECT_NE(e.find("is absolute"), std::string::npos) << e;
  e = error_of(csv("../a.png"), MsCxrOptions{});
  EXPECT_NE(e.find("contains '..'"), std::string::npos) << e;
  e = error_of(csv("files/link/secret.jpg"), opt);
  EXPECT_NE(e.find("outside the images root"), std::string::npos) << e;
  // A symlink staying inside is fine.
  fs::create_directory_symlink(root + "/files/p1", root + "/files/inside");
  EXPECT_NO_THROW(from_text(csv("files/inside/a.jpg"), opt));
  // Existence only when asked.
  EXPECT_NO_THROW(from_text(csv("files/p1/missing.jpg"), opt));
  opt.require_images = true;
  e = error_of(csv("files/p1/missing.jpg"), opt);
  EXPECT_NE(e.find("not found"), std::string::npos) << e;
}
