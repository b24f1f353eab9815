package io.quantbeam.core.validate;

import io.quantbeam.core.QuantbeamException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Agreement of one model's outputs with the FP32 reference, and its accuracy against labels,
 * accumulated example by example and merged exactly: counts are integers and the sums of squares
 * and cosines are exact decimal sums of the per-example doubles, so the result does not depend on
 * how examples were sharded, batched or merged.
 *
 * <p>An output with {@code classes >= 2} values per example (logits) is a classifier: the arg-max
 * is the prediction. A label below 0 means "no label"; a label at or above {@code classes} is
 * counted as unusable and otherwise ignored.
 */
public final class EvalAccumulator {
  private int classes;
  private long examples;
  private long labeled;
  private long correct;
  private long agree;
  private long badLabels;
  private long[] confusion;
  private BigDecimal signal = BigDecimal.ZERO;
  private BigDecimal noise = BigDecimal.ZERO;
  private BigDecimal cosineSum = BigDecimal.ZERO;
  private double minCosine = Double.POSITIVE_INFINITY;

  /** @param classes values per example of a classifier's logits, 0 for any other output */
  public EvalAccumulator(int classes) {
    if (classes < 0) {
      throw new IllegalArgumentException("classes must be >= 0, got " + classes);
    }
    this.classes = classes;
    this.confusion = new long[classes * classes];
  }

  public int classes() {
    return classes;
  }

  public long examples() {
    return examples;
  }

  /** Adds one example: the reference (FP32) output, this model's output and the label (-1: none). */
  public void add(float[] reference, float[] output, int label) {
    if (reference.length != output.length) {
      throw new QuantbeamException("The candidate's output has " + output.length
          + " values for an example where FP32 has " + reference.length
          + ": the models do not have the same output; compare models of the same network.");
    }
    examples++;
    if (classes >= 2) {
      if (reference.length != classes) {
        throw new QuantbeamException("Expected " + classes + " logits per example, got "
            + reference.length);
      }
      int predicted = argmax(output);
      agree += argmax(reference) == predicted ? 1 : 0;
      if (label >= classes) {
        badLabels++;
      } else if (label >= 0) {
        labeled++;
        correct += predicted == label ? 1 : 0;
        confusion[label * classes + predicted]++;
      }
    }
    double s = 0;
    double n = 0;
    double dot = 0;
    double o2 = 0;
    for (int i = 0; i < reference.length; i++) {
      double r = reference[i];
      double q = output[i];
      s += r * r;
      n += (r - q) * (r - q);
      dot += r * q;
      o2 += q * q;
    }
    signal = signal.add(new BigDecimal(s));
    noise = noise.add(new BigDecimal(n));
    double cos = s == 0 && o2 == 0 ? 1.0 : (s == 0 || o2 == 0 ? 0.0 : dot / Math.sqrt(s * o2));
    cosineSum = cosineSum.add(new BigDecimal(cos));
    minCosine = Math.min(minCosine, cos);
  }

  static int argmax(float[] v) {
    int best = 0;
    for (int i = 1; i < v.length; i++) {
      if (v[i] > v[best]) {
        best = i;
      }
    }
    return best;
  }

  /** Folds {@code other} into this one. */
  public EvalAccumulator mergeFrom(EvalAccumulator other) {
    if (other.examples == 0) {
      return this;
    }
    if (examples == 0 && classes != other.classes) {
      classes = other.classes;
      confusion = new long[classes * classes];
    } else if (classes != other.classes) {
      throw new QuantbeamException("Cannot merge metrics of " + classes + " and " + other.classes
          + " classes");
    }
    examples += other.examples;
    labeled += other.labeled;
    correct += other.correct;
    agree += other.agree;
    badLabels += other.badLabels;
    for (int i = 0; i < confusion.length; i++) {
      confusion[i] += other.confusion[i];
    }
    signal = signal.add(other.signal);
    noise = noise.add(other.noise);
    cosineSum = cosineSum.add(other.cosineSum);
    minCosine = Math.min(minCosine, other.minCosine);
    return this;
  }

  /** Per-class precision, recall and F1 ({@code support}: examples with this label). */
  public record ClassMetrics(int label, double precision, double recall, double f1, long support) {}

  /**
   * What the accumulator says. Accuracy is null without labels; agreement is null for an output
   * that is not logits; SQNR of the outputs vs FP32 in dB (null when identical).
   */
  public record Summary(long examples, long labeled, long unusableLabels, Double accuracy,
      Double agreement, long[][] confusion, List<ClassMetrics> perClass, double meanCosine,
      double minCosine, Double sqnrDb) {}

  public Summary summary() {
    Double accuracy = labeled == 0 ? null : (double) correct / labeled;
    Double agreement = classes < 2 || examples == 0 ? null : (double) agree / examples;
    long[][] matrix = new long[classes][classes];
    List<ClassMetrics> perClass = new ArrayList<>();
    for (int c = 0; c < classes; c++) {
      matrix[c] = Arrays.copyOfRange(confusion, c * classes, (c + 1) * classes);
    }
    if (labeled > 0) {
      for (int c = 0; c < classes; c++) {
        long tp = matrix[c][c];
        long support = 0;
        long predicted = 0;
        for (int j = 0; j < classes; j++) {
          support += matrix[c][j];
          predicted += matrix[j][c];
        }
        double p = predicted == 0 ? 0 : (double) tp / predicted;
        double r = support == 0 ? 0 : (double) tp / support;
        perClass.add(new ClassMetrics(c, p, r, p + r == 0 ? 0 : 2 * p * r / (p + r), support));
      }
    }
    double meanCos = examples == 0 ? Double.NaN
        : cosineSum.doubleValue() / examples;
    Double sqnr = noise.signum() == 0 ? null
        : 10 * Math.log10(signal.doubleValue() / noise.doubleValue());
    return new Summary(examples, labeled, badLabels, accuracy, agreement, matrix, perClass,
        meanCos, examples == 0 ? Double.NaN : minCosine, sqnr);
  }

  public byte[] toBytes() {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      DataOutputStream out = new DataOutputStream(bytes);
      out.writeInt(classes);
      out.writeLong(examples);
      out.writeLong(labeled);
      out.writeLong(correct);
      out.writeLong(agree);
      out.writeLong(badLabels);
      for (long c : confusion) {
        out.writeLong(c);
      }
      out.writeUTF(signal.toString());
      out.writeUTF(noise.toString());
      out.writeUTF(cosineSum.toString());
      out.writeDouble(minCosine);
      out.flush();
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  public static EvalAccumulator fromBytes(byte[] data) {
    try {
      DataInputStream in = new DataInputStream(new ByteArrayInputStream(data));
      EvalAccumulator a = new EvalAccumulator(in.readInt());
      a.examples = in.readLong();
      a.labeled = in.readLong();
      a.correct = in.readLong();
      a.agree = in.readLong();
      a.badLabels = in.readLong();
      for (int i = 0; i < a.confusion.length; i++) {
        a.confusion[i] = in.readLong();
      }
      a.signal = new BigDecimal(in.readUTF());
      a.noise = new BigDecimal(in.readUTF());
      a.cosineSum = new BigDecimal(in.readUTF());
      a.minCosine = in.readDouble();
      return a;
    } catch (IOException e) {
      throw new QuantbeamException("Corrupt metrics record: " + e, e);
    }
  }
}
