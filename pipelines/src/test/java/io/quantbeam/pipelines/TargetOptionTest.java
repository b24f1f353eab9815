package io.quantbeam.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbeam.core.quant.QuantConfig;
import io.quantbeam.core.quant.QuantConfig.Target;
import io.quantbeam.transforms.QuantSettings;
import java.util.List;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.jupiter.api.Test;

/** --target reaches the QuantConfig, survives the trip to the workers and the drift job's args. */
class TargetOptionTest {
  static QuantizeOptions parse(String... args) {
    PipelineOptionsFactory.register(QuantizeOptions.class);
    return PipelineOptionsFactory.fromArgs(args).as(QuantizeOptions.class);
  }

  @Test
  void portableByDefaultAndOnnxruntimeCpuAsTyped() {
    assertEquals(Target.PORTABLE, QuantizePipeline.config(parse()).target());
    for (String spelling : List.of("onnxruntime-cpu", "ONNXRUNTIME_CPU", "OnnxRuntime-Cpu")) {
      assertEquals(Target.ONNXRUNTIME_CPU,
          QuantizePipeline.config(parse("--target=" + spelling)).target(), spelling);
    }
  }

  @Test
  void theTargetTravelsToWorkersAndIntoTheRecordedArgs() {
    QuantizeOptions o = parse("--target=onnxruntime-cpu", "--minActivationSqnrDb=0");
    QuantConfig c = QuantizePipeline.config(o);
    assertEquals(c, QuantSettings.of(c).toConfig());
    List<String> args = QuantizePipeline.quantizeArgs(c, o);
    assertTrue(args.contains("--target=onnxruntime-cpu"), args.toString());
    assertEquals(c, QuantizePipeline.config(parse(args.toArray(String[]::new))));
  }
}
