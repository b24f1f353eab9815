package io.quantbeam.transforms;

import io.quantbeam.core.Quantbeam;
import io.quantbeam.core.calib.DataFingerprint;
import io.quantbeam.core.stats.CalibrationTable;
import io.quantbeam.core.stats.TensorStats;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Map;
import org.apache.beam.sdk.coders.BooleanCoder;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.CoderRegistry;
import org.apache.beam.sdk.coders.CustomCoder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionView;

/**
 * Merges partial statistics into one {@link CalibrationTable}: first per tensor
 * ({@code Combine.perKey}, exact and order-free, so the result does not depend on bundles or
 * parallelism), then all tensors into one table, then the table's metadata: the model's SHA-256,
 * the corpus fingerprint and the calibration settings ({@code Quantbeam.calibrationSettings}),
 * which key the calibration cache. Emits nothing for an empty corpus.
 */
public final class MergeStatistics
    extends PTransform<PCollection<KV<String, TensorStats>>, PCollection<CalibrationTable>> {

  private final String modelSha256;
  private final PCollectionView<DataFingerprint> fingerprint;
  private final String settings;

  private MergeStatistics(String modelSha256, PCollectionView<DataFingerprint> fingerprint,
      String settings) {
    this.modelSha256 = modelSha256;
    this.fingerprint = fingerprint;
    this.settings = settings;
  }

  /**
   * Merged statistics labelled with the model's hash, the corpus fingerprint (a singleton) and
   * the calibration settings they were observed with.
   */
  public static MergeStatistics withMetadata(String modelSha256,
      PCollectionView<DataFingerprint> fingerprint, String settings) {
    return new MergeStatistics(modelSha256, fingerprint, settings);
  }

  @Override
  public PCollection<CalibrationTable> expand(PCollection<KV<String, TensorStats>> partials) {
    return partials
        .apply("MergePerTensor", Combine.perKey(new MergeTensorStats()))
        .setCoder(KvCoder.of(StringUtf8Coder.of(), Coders.TensorStatsCoder.of()))
        .apply("GatherTable", Combine.globally(new GatherTable()).withoutDefaults())
        .setCoder(Coders.CalibrationTableCoder.of())
        .apply("AddMetadata", ParDo.of(new AddMetadata(modelSha256, fingerprint, settings))
            .withSideInputs(fingerprint))
        .setCoder(Coders.CalibrationTableCoder.of());
  }

  /** The accumulator: statistics, or none yet (an empty one would have to guess its bin count). */
  static final class Partial {
    TensorStats stats;
  }

  static final class PartialCoder extends CustomCoder<Partial> {
    @Override
    public void encode(Partial p, OutputStream out) throws IOException {
      BooleanCoder.of().encode(p.stats != null, out);
      if (p.stats != null) {
        Coders.TensorStatsCoder.of().encode(p.stats, out);
      }
    }

    @Override
    public Partial decode(InputStream in) throws IOException {
      Partial p = new Partial();
      if (BooleanCoder.of().decode(in)) {
        p.stats = Coders.TensorStatsCoder.of().decode(in);
      }
      return p;
    }

    @Override
    public void verifyDeterministic() {}
  }

  static final class MergeTensorStats extends Combine.CombineFn<TensorStats, Partial, TensorStats> {
    @Override
    public Partial createAccumulator() {
      return new Partial();
    }

    @Override
    public Partial addInput(Partial acc, TensorStats input) {
      if (acc.stats == null) {
        acc.stats = input.copy();
      } else {
        acc.stats.mergeFrom(input);
      }
      return acc;
    }

    @Override
    public Partial mergeAccumulators(Iterable<Partial> accs) {
      Partial m = new Partial();
      for (Partial a : accs) {
        if (a.stats != null) {
          addInput(m, a.stats);
        }
      }
      return m;
    }

    @Override
    public TensorStats extractOutput(Partial acc) {
      return acc.stats == null ? new TensorStats() : acc.stats;
    }

    @Override
    public Coder<Partial> getAccumulatorCoder(CoderRegistry r, Coder<TensorStats> in) {
      return new PartialCoder();
    }
  }

  static final class GatherTable
      extends Combine.CombineFn<KV<String, TensorStats>, CalibrationTable, CalibrationTable> {
    @Override
    public CalibrationTable createAccumulator() {
      return CalibrationTable.empty();
    }

    @Override
    public CalibrationTable addInput(CalibrationTable acc, KV<String, TensorStats> input) {
      return acc.merge(CalibrationTable.empty().withTensor(input.getKey(), input.getValue()));
    }

    @Override
    public CalibrationTable mergeAccumulators(Iterable<CalibrationTable> accs) {
      CalibrationTable m = CalibrationTable.empty();
      for (CalibrationTable a : accs) {
        m = m.merge(a);
      }
      return m;
    }

    @Override
    public CalibrationTable extractOutput(CalibrationTable acc) {
      return acc;
    }

    @Override
    public Coder<CalibrationTable> getAccumulatorCoder(CoderRegistry r,
        Coder<KV<String, TensorStats>> in) {
      return Coders.CalibrationTableCoder.of();
    }

    @Override
    public Coder<CalibrationTable> getDefaultOutputCoder(CoderRegistry r,
        Coder<KV<String, TensorStats>> in) {
      return Coders.CalibrationTableCoder.of();
    }
  }

  static final class AddMetadata extends DoFn<CalibrationTable, CalibrationTable> {
    private final String modelSha256;
    private final PCollectionView<DataFingerprint> fingerprint;
    private final String settings;

    AddMetadata(String modelSha256, PCollectionView<DataFingerprint> fingerprint,
        String settings) {
      this.modelSha256 = modelSha256;
      this.fingerprint = fingerprint;
      this.settings = settings;
    }

    @ProcessElement
    public void process(@Element CalibrationTable table, ProcessContext c) {
      CalibrationTable labelled = table;
      for (Map.Entry<String, String> e : Quantbeam.tableMetadata(modelSha256,
          c.sideInput(fingerprint).toString(), settings).entrySet()) {
        labelled = labelled.withMetadata(e.getKey(), e.getValue());
      }
      c.output(labelled);
    }
  }
}
