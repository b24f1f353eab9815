package io.quantbeam.transforms;

import io.quantbeam.core.calib.DataFingerprint;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.CoderRegistry;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.values.PCollection;

/**
 * The order-free {@link DataFingerprint} of a corpus: one element, none for an empty corpus. It
 * keys the calibration cache, so a cached table is reused only on the same texts.
 */
public final class FingerprintTexts
    extends PTransform<PCollection<String>, PCollection<DataFingerprint>> {

  public static FingerprintTexts create() {
    return new FingerprintTexts();
  }

  @Override
  public PCollection<DataFingerprint> expand(PCollection<String> texts) {
    return texts.apply("Fingerprint", Combine.globally(new FingerprintFn()).withoutDefaults())
        .setCoder(Coders.DataFingerprintCoder.of());
  }

  static final class FingerprintFn
      extends Combine.CombineFn<String, DataFingerprint, DataFingerprint> {
    @Override
    public DataFingerprint createAccumulator() {
      return new DataFingerprint();
    }

    @Override
    public DataFingerprint addInput(DataFingerprint acc, String text) {
      acc.add(text);
      return acc;
    }

    @Override
    public DataFingerprint mergeAccumulators(Iterable<DataFingerprint> accs) {
      DataFingerprint m = new DataFingerprint();
      for (DataFingerprint a : accs) {
        m = m.merge(a);
      }
      return m;
    }

    @Override
    public DataFingerprint extractOutput(DataFingerprint acc) {
      return acc;
    }

    @Override
    public Coder<DataFingerprint> getAccumulatorCoder(CoderRegistry r, Coder<String> in) {
      return Coders.DataFingerprintCoder.of();
    }

    @Override
    public Coder<DataFingerprint> getDefaultOutputCoder(CoderRegistry r, Coder<String> in) {
      return Coders.DataFingerprintCoder.of();
    }
  }
}
