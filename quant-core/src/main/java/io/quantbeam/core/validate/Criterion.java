package io.quantbeam.core.validate;

import io.quantbeam.core.QuantbeamException;
import java.util.Locale;

/**
 * The accuracy criterion of {@code --maxAccuracyDrop}: "0.5" is an absolute drop in percentage
 * points, "1%" a drop relative to the FP32 accuracy. Accuracies are fractions in [0, 1].
 */
public record Criterion(double value, boolean relative) {
  public static final String DEFAULT = "0.5";

  public Criterion {
    if (!(value >= 0) || Double.isInfinite(value)) {
      throw new QuantbeamException("--maxAccuracyDrop must be a non-negative number, got " + value);
    }
  }

  public static Criterion parse(String text) {
    String t = text == null ? "" : text.trim();
    boolean relative = t.endsWith("%");
    String number = relative ? t.substring(0, t.length() - 1).trim() : t;
    try {
      return new Criterion(Double.parseDouble(number), relative);
    } catch (NumberFormatException e) {
      throw new QuantbeamException("--maxAccuracyDrop='" + text + "' is not a number: give"
          + " points of accuracy (e.g. 0.5) or a relative drop (e.g. 1%).");
    }
  }

  /** The drop in percentage points (positive: worse than FP32). */
  public static double dropPoints(double fp32, double accuracy) {
    return 100 * (fp32 - accuracy);
  }

  public boolean passes(double fp32, double accuracy) {
    double points = dropPoints(fp32, accuracy);
    double allowed = relative ? value * fp32 : value; // value% of fp32 (a fraction) = points
    return points <= allowed + 1e-9;
  }

  @Override
  public String toString() {
    return relative ? String.format(Locale.ROOT, "drop <= %s%% of FP32 accuracy", value)
        : String.format(Locale.ROOT, "drop <= %s points", value);
  }
}
