package io.quantbeam.transforms;

import io.quantbeam.core.quant.QuantConfig;
import io.quantbeam.core.quant.QuantType;
import io.quantbeam.core.stats.CalibrationMethod;
import io.quantbeam.core.stats.CalibrationParams;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * A {@link QuantConfig} in a serializable form that travels inside a DoFn. Built from a config,
 * turned back into an equal one on the worker.
 */
public final class QuantSettings implements Serializable {
  private static final long serialVersionUID = 1L;

  private final String activationType;
  private final String weightType;
  private final boolean perChannel;
  private final boolean reduceRange;
  private final boolean symmetricActivations;
  private final String method;
  private final double percentile;
  private final boolean symmetricPercentile;
  private final int entropyBins;
  private final ArrayList<String> opTypes;
  private final ArrayList<String> excludeNodes;
  private final boolean quantizeActivationMatMuls;
  private final double minActivationSqnrDb;
  private final String target;

  private QuantSettings(QuantConfig c) {
    activationType = c.activationType().name();
    weightType = c.weightType().name();
    perChannel = c.perChannel();
    reduceRange = c.reduceRange();
    symmetricActivations = c.symmetricActivations();
    method = c.calibration().method().name();
    percentile = c.calibration().percentile();
    symmetricPercentile = c.calibration().symmetricPercentile();
    entropyBins = c.calibration().entropyTargetBins();
    opTypes = new ArrayList<>(c.opTypes());
    excludeNodes = new ArrayList<>(c.excludeNodes());
    quantizeActivationMatMuls = c.quantizeActivationMatMuls();
    minActivationSqnrDb = c.minActivationSqnrDb();
    target = c.target().name();
  }

  public static QuantSettings of(QuantConfig config) {
    return new QuantSettings(config);
  }

  public QuantConfig toConfig() {
    return new QuantConfig(QuantType.valueOf(activationType), QuantType.valueOf(weightType),
        perChannel, reduceRange, symmetricActivations,
        new CalibrationParams(CalibrationMethod.valueOf(method), percentile, symmetricPercentile,
            entropyBins),
        new LinkedHashSet<>(opTypes), new LinkedHashSet<>(excludeNodes),
        quantizeActivationMatMuls, minActivationSqnrDb, QuantConfig.Target.valueOf(target));
  }

  public List<String> excludeNodes() {
    return List.copyOf(excludeNodes);
  }
}
