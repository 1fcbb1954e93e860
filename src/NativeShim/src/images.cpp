// Images through OpenCV: decoding PNG/JPEG/BMP bytes, resizing, encoding. An image is a uint8
// tensor [C, H, W] with C = 1 (gray) or C = 3 (R, G, B planes); OpenCV's own layout is
// interleaved B, G, R rows, so every crossing reorders channels and planes in one pass.
//
// Decoding always yields 8 bits per sample: 16-bit PNGs keep their high byte and an alpha channel
// is dropped (transparent pixels show whatever colour they store), because the rest of the
// library works on uint8 images of one or three channels. A JPEG's EXIF orientation is applied,
// so the tensor is upright as a viewer shows it.
#include "shim.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstring>
#include <stdexcept>
#include <string>

namespace {

// Codes shared with the C# enums ImageColorMode, ImageInterpolation and ImageFileFormat.
enum ColorMode : int32_t { kGrayscale = 0, kColor = 1 };

int opencv_interpolation(int32_t code) {
  switch (code) {
    // Half-pixel centres, like bilinear; plain INTER_NEAREST samples at the pixels' corners and
    // so shifts the image by half a pixel.
    case 0: return cv::INTER_NEAREST_EXACT;
    case 1: return cv::INTER_LINEAR;
    case 2: return cv::INTER_AREA;
  }
  TORCH_CHECK(false, "unknown interpolation code ", code, " (0 nearest, 1 bilinear, 2 area)");
}

const char* encoder_extension(int32_t code) {
  switch (code) {
    case 0: return ".png";
    case 1: return ".jpg";
    case 2: return ".bmp";
  }
  TORCH_CHECK(false, "unknown image format code ", code, " (0 PNG, 1 JPEG, 2 BMP)");
}

// OpenCV's own exceptions carry its source file and line; the message keeps only what went wrong.
template <typename Fn>
auto opencv_call(const char* action, Fn&& fn) {
  try {
    return fn();
  } catch (const cv::Exception& e) {
    throw std::runtime_error(std::string(action) + " failed in OpenCV: " + e.err);
  }
}

// The CPU, contiguous form of a uint8 [C, H, W] image with C = 1 or 3, after checking it is one.
at::Tensor checked_image(TensorHandle image, const char* operation) {
  TORCH_CHECK(image != nullptr, operation, ": the image tensor is null");
  const at::Tensor& t = *image;
  TORCH_CHECK(t.dim() == 3, operation, ": expected a 3D [C, H, W] image tensor, but got input of size: ", t.sizes());
  TORCH_CHECK(t.scalar_type() == at::kByte, operation, ": expected a uint8 image tensor, but got ", t.scalar_type());
  TORCH_CHECK(t.size(0) == 1 || t.size(0) == 3, operation,
              ": expected 1 (gray) or 3 (RGB) channels in dimension 0, but got input of size: ", t.sizes());
  TORCH_CHECK(t.size(1) > 0 && t.size(2) > 0, operation, ": the image has no pixels (size ", t.sizes(), ")");
  TORCH_CHECK(t.size(1) <= INT32_MAX && t.size(2) <= INT32_MAX, operation, ": the image is too large for OpenCV (size ", t.sizes(), ")");
  return t.to(at::kCPU).contiguous();
}

// Plane c of a contiguous CPU [C, H, W] uint8 tensor as a Mat sharing its memory.
cv::Mat plane(const at::Tensor& image, int64_t c) {
  const int rows = static_cast<int>(image.size(1));
  const int cols = static_cast<int>(image.size(2));
  return cv::Mat(rows, cols, CV_8UC1, image.data_ptr<uint8_t>() + c * image.size(1) * image.size(2));
}

// A decoded 8-bit Mat (1 channel, or 3 in B, G, R order) as a new [C, H, W] tensor, R first.
at::Tensor tensor_from_mat(const cv::Mat& mat) {
  TORCH_CHECK(mat.depth() == CV_8U && (mat.channels() == 1 || mat.channels() == 3),
              "internal: OpenCV decoded an image of depth ", mat.depth(), " with ", mat.channels(), " channels");
  const int64_t channels = mat.channels();
  auto result = at::empty({channels, mat.rows, mat.cols}, at::kByte);
  if (channels == 1) {
    cv::Mat destination = plane(result, 0);
    mat.copyTo(destination);
  } else {
    cv::Mat planes[] = {plane(result, 0), plane(result, 1), plane(result, 2)};
    const int from_to[] = {2, 0, 1, 1, 0, 2};  // B -> plane 2, G -> plane 1, R -> plane 0
    cv::mixChannels(&mat, 1, planes, 3, from_to, 3);
  }
  return result;
}

// An image tensor (checked_image) as an interleaved Mat, channels in B, G, R order for colour.
cv::Mat mat_from_tensor(const at::Tensor& image) {
  if (image.size(0) == 1) return plane(image, 0);
  cv::Mat planes[] = {plane(image, 0), plane(image, 1), plane(image, 2)};
  cv::Mat bgr(planes[0].rows, planes[0].cols, CV_8UC3);
  const int from_to[] = {0, 2, 1, 1, 2, 0};  // R -> channel 2, G -> 1, B -> 0
  cv::mixChannels(planes, 3, &bgr, 1, from_to, 3);
  return bgr;
}

// libjpeg decodes a JPEG cut short with only a warning on stderr, filling the missing rows with
// gray. Such data is refused instead, as PIL does by default: a JPEG must have an end-of-image
// marker (FF D9) after its last start-of-scan marker (FF DA). The scan's own bytes cannot hold
// either (an FF there is followed by 00 or a restart marker), and markers of an EXIF thumbnail
// come before the main image's scan.
bool truncated_jpeg(const uint8_t* data, int64_t length) {
  if (length < 2 || data[0] != 0xFF || data[1] != 0xD8) return false;  // not a JPEG at all
  int64_t last_scan = -1;
  for (int64_t i = 0; i + 1 < length; ++i)
    if (data[i] == 0xFF && data[i + 1] == 0xDA) last_scan = i;
  if (last_scan < 0) return false;  // no scan: libjpeg itself fails on that
  for (int64_t i = last_scan + 2; i + 1 < length; ++i)
    if (data[i] == 0xFF && data[i + 1] == 0xD9) return false;
  return true;
}

}  // namespace

// Decodes PNG, JPEG or BMP bytes (anything cv::imdecode reads) into a uint8 [C, H, W] tensor;
// mode 0 gives C = 1 (gray), mode 1 gives C = 3 (R, G, B).
MLN_EXPORT TensorHandle mln_image_decode(const uint8_t* data, int64_t length, int32_t mode) {
  return shim::tensor_result([&] {
    TORCH_CHECK(mode == kGrayscale || mode == kColor, "unknown color mode code ", mode, " (0 grayscale, 1 color)");
    TORCH_CHECK(data != nullptr && length > 0, "the image data is empty");
    TORCH_CHECK(length <= INT32_MAX, "the image data (", length, " bytes) is larger than OpenCV reads (2 GiB)");
    TORCH_CHECK(!truncated_jpeg(data, length), "the JPEG data ends before its end-of-image marker, so it was cut short");
    const cv::Mat encoded(1, static_cast<int>(length), CV_8UC1, const_cast<uint8_t*>(data));
    const cv::Mat decoded = opencv_call("decoding the image", [&] {
      return cv::imdecode(encoded, mode == kColor ? cv::IMREAD_COLOR : cv::IMREAD_GRAYSCALE);
    });
    TORCH_CHECK(!decoded.empty(), "OpenCV could not decode the data");
    return tensor_from_mat(decoded);
  });
}

// Resizes a uint8 [C, H, W] image to [C, height, width]; the result is on the image's device.
MLN_EXPORT TensorHandle mln_image_resize(TensorHandle image, int64_t height, int64_t width, int32_t interpolation) {
  return shim::tensor_result([&] {
    const auto source = checked_image(image, "resize");
    TORCH_CHECK(height > 0 && width > 0, "resize: the size must be positive, but got ", height, " x ", width);
    TORCH_CHECK(height <= INT32_MAX && width <= INT32_MAX, "resize: ", height, " x ", width, " is too large for OpenCV");
    const int method = opencv_interpolation(interpolation);
    auto result = at::empty({source.size(0), height, width}, at::kByte);
    // OpenCV's INTER_AREA averages the covered area only when both directions shrink or both grow;
    // shrinking one while enlarging the other falls back to mixing two neighbours in the shrinking
    // direction. Resizing one direction at a time keeps area averaging, in float so that nothing is
    // rounded in between.
    const int64_t in_height = source.size(1), in_width = source.size(2);
    const bool mixed_area = method == cv::INTER_AREA &&
                            ((height < in_height && width > in_width) || (height > in_height && width < in_width));
    // Channels are independent under every interpolation here, so planes are resized one by one
    // straight between the tensors' memory, with no interleaving.
    opencv_call("resizing the image", [&] {
      for (int64_t c = 0; c < source.size(0); ++c) {
        cv::Mat destination = plane(result, c);
        if (mixed_area) {
          cv::Mat wide, resized;
          plane(source, c).convertTo(wide, CV_32F);
          cv::resize(wide, wide, cv::Size(destination.cols, static_cast<int>(in_height)), 0, 0, cv::INTER_AREA);
          cv::resize(wide, resized, destination.size(), 0, 0, cv::INTER_AREA);
          resized.convertTo(destination, CV_8U);
        } else {
          cv::resize(plane(source, c), destination, destination.size(), 0, 0, method);
        }
      }
      return 0;
    });
    return result.to(image->device());
  });
}

// Encodes a uint8 [C, H, W] image as format 0 PNG, 1 JPEG (at jpeg_quality, 1..100) or 2 BMP;
// returns the file's bytes as a 1D uint8 tensor.
MLN_EXPORT TensorHandle mln_image_encode(TensorHandle image, int32_t format, int32_t jpeg_quality) {
  return shim::tensor_result([&] {
    const auto source = checked_image(image, "encode");
    const char* extension = encoder_extension(format);
    TORCH_CHECK(jpeg_quality >= 1 && jpeg_quality <= 100, "encode: the JPEG quality must be in 1..100, but got ", jpeg_quality);
    const cv::Mat mat = mat_from_tensor(source);
    std::vector<uchar> bytes;
    const std::vector<int> parameters =
        format == 1 ? std::vector<int>{cv::IMWRITE_JPEG_QUALITY, jpeg_quality} : std::vector<int>{};
    const bool written = opencv_call("encoding the image", [&] { return cv::imencode(extension, mat, bytes, parameters); });
    TORCH_CHECK(written, "encode: OpenCV could not encode the image as ", extension + 1);
    auto result = at::empty({static_cast<int64_t>(bytes.size())}, at::kByte);
    std::memcpy(result.data_ptr<uint8_t>(), bytes.data(), bytes.size());
    return result;
  });
}
