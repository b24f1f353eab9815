package io.quantbeam.core.quant;

import io.quantbeam.core.stats.CalibrationParams;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * What to quantize and how. A candidate in a sweep is just another QuantConfig applied to the same
 * calibration table.
 *
 * <p>The defaults are the transformer-aware scope (see {@link QdqQuantizer}): uint8 asymmetric
 * activations feeding MatMul/Gemm with a float weight, int8 symmetric per-channel weights, int8
 * embedding tables read by Gather; attention's activation-by-activation MatMuls, the mask path,
 * Softmax, LayerNorm and the elementwise ops stay float.
 *
 * @param activationType integer type of activations (UINT8: ONNX Runtime's x86 kernels fuse u8 x s8)
 * @param weightType integer type of weights and embedding tables
 * @param perChannel one weight scale per output channel (needs opset 13; the model is upgraded)
 * @param reduceRange 7-bit weights (as the reference: weights only), for CPUs without VNNI whose
 *     u8 x s8 products can saturate
 * @param symmetricActivations centre activation ranges on zero
 * @param calibration range estimator and its parameters
 * @param opTypes op types whose rules may quantize a node
 * @param excludeNodes node names left in float
 * @param quantizeActivationMatMuls also quantize MatMuls of two activations (attention scores)
 * @param minActivationSqnrDb an activation whose 8-bit SQNR, predicted from its calibration
 *     histogram, is below this stays float (0 disables); see {@link PredictedNoise}
 * @param target the runtime the model is written for (see {@link Target})
 */
public record QuantConfig(
    QuantType activationType,
    QuantType weightType,
    boolean perChannel,
    boolean reduceRange,
    boolean symmetricActivations,
    CalibrationParams calibration,
    Set<String> opTypes,
    Set<String> excludeNodes,
    boolean quantizeActivationMatMuls,
    double minActivationSqnrDb,
    Target target) {

  /**
   * Which runtime the written model is for. PORTABLE is standard ONNX QDQ that any runtime reads.
   * ONNXRUNTIME_CPU writes the operators ONNX Runtime's CPU provider runs fastest, from its
   * com.microsoft domain (fused attention, integer MatMuls with the bias inside), which other
   * runtimes cannot load.
   */
  public enum Target {
    PORTABLE,
    ONNXRUNTIME_CPU;

    /** Any case, '-' or '_': {@code onnxruntime-cpu} (also how command-line options read it). */
    @com.fasterxml.jackson.annotation.JsonCreator
    public static Target parse(String name) {
      return io.quantbeam.core.EnumNames.parse(Target.class, name, "target");
    }
  }

  /** The portable target: callers written before targets existed keep their meaning. */
  public QuantConfig(QuantType activationType, QuantType weightType, boolean perChannel,
      boolean reduceRange, boolean symmetricActivations, CalibrationParams calibration,
      Set<String> opTypes, Set<String> excludeNodes, boolean quantizeActivationMatMuls,
      double minActivationSqnrDb) {
    this(activationType, weightType, perChannel, reduceRange, symmetricActivations, calibration,
        opTypes, excludeNodes, quantizeActivationMatMuls, minActivationSqnrDb, Target.PORTABLE);
  }

  public static final List<String> DEFAULT_OP_TYPES = List.of("MatMul", "Gemm", "Gather");

  /** Default floor for an activation's predicted SQNR; the README shows the measurements. */
  public static final double DEFAULT_MIN_ACTIVATION_SQNR_DB = 19.5;

  public QuantConfig {
    if (target == null) {
      throw new IllegalArgumentException("target is null; Target.PORTABLE is the default");
    }
    opTypes = Collections.unmodifiableSet(new TreeSet<>(opTypes));
    excludeNodes = Collections.unmodifiableSet(new TreeSet<>(excludeNodes));
  }

  public static QuantConfig defaults() {
    return new QuantConfig(
        QuantType.UINT8,
        QuantType.INT8,
        true,
        false,
        false,
        CalibrationParams.defaults(),
        new LinkedHashSet<>(DEFAULT_OP_TYPES),
        Set.of(),
        false,
        DEFAULT_MIN_ACTIVATION_SQNR_DB);
  }

  public QuantConfig withExcludeNodes(Set<String> nodes) {
    return new QuantConfig(activationType, weightType, perChannel, reduceRange,
        symmetricActivations, calibration, opTypes, nodes, quantizeActivationMatMuls, minActivationSqnrDb,
        target);
  }

  public QuantConfig withCalibration(CalibrationParams params) {
    return new QuantConfig(activationType, weightType, perChannel, reduceRange,
        symmetricActivations, params, opTypes, excludeNodes, quantizeActivationMatMuls, minActivationSqnrDb,
        target);
  }

  public QuantConfig withOpTypes(Set<String> types) {
    return new QuantConfig(activationType, weightType, perChannel, reduceRange,
        symmetricActivations, calibration, types, excludeNodes, quantizeActivationMatMuls, minActivationSqnrDb,
        target);
  }

  public QuantConfig withTypes(QuantType activations, QuantType weights) {
    return new QuantConfig(activations, weights, perChannel, reduceRange,
        symmetricActivations, calibration, opTypes, excludeNodes, quantizeActivationMatMuls, minActivationSqnrDb,
        target);
  }

  public QuantConfig withPerChannel(boolean value) {
    return new QuantConfig(activationType, weightType, value, reduceRange,
        symmetricActivations, calibration, opTypes, excludeNodes, quantizeActivationMatMuls, minActivationSqnrDb,
        target);
  }

  public QuantConfig withReduceRange(boolean value) {
    return new QuantConfig(activationType, weightType, perChannel, value,
        symmetricActivations, calibration, opTypes, excludeNodes, quantizeActivationMatMuls, minActivationSqnrDb,
        target);
  }

  public QuantConfig withSymmetricActivations(boolean value) {
    return new QuantConfig(activationType, weightType, perChannel, reduceRange,
        value, calibration, opTypes, excludeNodes, quantizeActivationMatMuls, minActivationSqnrDb,
        target);
  }

  public QuantConfig withQuantizeActivationMatMuls(boolean value) {
    return new QuantConfig(activationType, weightType, perChannel, reduceRange,
        symmetricActivations, calibration, opTypes, excludeNodes, value, minActivationSqnrDb, target);
  }

  public QuantConfig withMinActivationSqnrDb(double db) {
    return new QuantConfig(activationType, weightType, perChannel, reduceRange,
        symmetricActivations, calibration, opTypes, excludeNodes, quantizeActivationMatMuls, db, target);
  }

  public QuantConfig withTarget(Target value) {
    return new QuantConfig(activationType, weightType, perChannel, reduceRange,
        symmetricActivations, calibration, opTypes, excludeNodes, quantizeActivationMatMuls,
        minActivationSqnrDb, value);
  }
}
