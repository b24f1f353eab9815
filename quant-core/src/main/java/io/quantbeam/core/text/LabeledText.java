package io.quantbeam.core.text;

import java.util.Objects;

/**
 * One labelled text of a classification data set (for SST-2: 0 = negative, 1 = positive).
 *
 * @param text  the text exactly as stored in the data set (already tokenised and lower-cased for SST-2)
 * @param label the class label
 */
public record LabeledText(String text, int label) {
  public LabeledText {
    Objects.requireNonNull(text, "text");
  }
}
