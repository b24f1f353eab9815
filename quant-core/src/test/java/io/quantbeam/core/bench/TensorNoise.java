package io.quantbeam.core.bench;

import io.quantbeam.core.Quantbeam;
import io.quantbeam.core.quant.QuantConfig;
import io.quantbeam.core.stats.AbsHistogram;
import io.quantbeam.core.stats.TensorStats;
import io.quantbeam.core.testing.MiniLm;
import io.quantbeam.core.testing.TestData;
import java.util.List;
import java.util.Map;

public final class TensorNoise {
  public static void main(String[] args) throws Exception {
    List<String> calibration = TestData.texts(TestData.gluePhrases(512));
    Quantbeam.Result base = Quantbeam.quantize(MiniLm.model(), MiniLm.tokenizer(), calibration,
        QuantConfig.defaults(), new Quantbeam.Options(32, 128, 2));
    for (Map.Entry<String, TensorStats> e : base.table().tensors().entrySet()) {
      TensorStats s = e.getValue();
      AbsHistogram h = s.absolute();
      double power = 0;
      long[] c = h.counts();
      double w = h.binWidth();
      for (int i = 0; i < c.length; i++) {
        double mid = (i + 0.5) * w;
        power += c[i] * mid * mid;
      }
      power /= h.total();
      double lo = Math.min(0, s.min()), hi = Math.max(0, s.max());
      double step = (hi - lo) / 255;
      double noise = step * step / 12;
      System.out.printf("%-70s min %9.3f max %9.3f rms %7.3f p99.99 %7.3f  predSQNR %5.1f dB%n", e.getKey(), s.min(), s.max(), Math.sqrt(power), h.upperEdgeAtFraction(0.9999), 10 * Math.log10(power / noise));
    }
  }
}
