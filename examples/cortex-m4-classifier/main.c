/* A C firmware that runs a tinyq-generated classifier: the few lines a user adds to their
 * own project. The model comes from
 *   tinyq generate model.tqm --target cortex-m4 -o model --name classifier
 * and is used only through model/classifier.h.
 *
 * The image would come from a sensor; here it is read from the host file "image.bin" (one
 * 28x28 uint8 Fashion-MNIST image, through semihosting) when present, else a synthetic
 * pattern is used. */
#include <stdio.h>

#include "classifier.h"

static const char* const kClasses[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                         "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

int main(void) {
  static float image[CLASSIFIER_INPUT_SIZE];
  unsigned char pixels[CLASSIFIER_INPUT_SIZE];
  FILE* f = fopen("image.bin", "rb");
  const int from_file = f != NULL && fread(pixels, 1, sizeof pixels, f) == sizeof pixels;
  if (f != NULL) fclose(f);
  for (int i = 0; i < CLASSIFIER_INPUT_SIZE; ++i)
    image[i] = from_file ? (float)pixels[i] / 255.0f : (float)((i % 28) > 8 && (i % 28) < 20);

  classifier_quantize_input(image); /* float (model layout) -> int8 input buffer */
  classifier_invoke();               /* runs every layer in the static arena */

  int top[3];
  classifier_top_k(3, top);
  float scores[CLASSIFIER_OUTPUT_SIZE];
  classifier_dequantize_output(scores);
  printf("input: %s\n", from_file ? "image.bin" : "synthetic pattern");
  for (int k = 0; k < 3; ++k) printf("  %d. %-12s score %.3f\n", k + 1, kClasses[top[k]], (double)scores[top[k]]);
  printf("arena: %d bytes of RAM\n", CLASSIFIER_ARENA_BYTES);
  return classifier_argmax() == top[0] ? 0 : 1;
}
