package io.quantbeam.core.calib;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.graph.GraphView;
import io.quantbeam.core.runtime.TensorViews;
import io.quantbeam.core.text.EncodedBatch;
import io.quantbeam.core.stats.TensorStats;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.Semaphore;

/**
 * Runs a float model with every tensor to calibrate exposed as an extra graph output, and folds
 * each batch's values into per-tensor statistics in place. Batches may have any shape (each is
 * padded to its own longest sequence; the last one may be short): statistics see only values,
 * never shapes, and nothing is kept per example.
 *
 * <p>Padding positions also produce activations; they are observed like the real ones, as ONNX
 * Runtime's reference calibrator does, because at inference time the quantized model sees padded
 * batches too.
 *
 * <p>One Calibrator holds one ONNX Runtime session; {@link #observe} is safe to call from several
 * threads as long as each passes its own statistics map (a session's run is thread-safe).
 */
public final class Calibrator implements AutoCloseable {
  private final OrtEnvironment env = OrtEnvironment.getEnvironment();
  private final OrtSession session;
  private final List<String> tensors;
  private final Set<String> modelInputs;
  private final Set<String> outputNames;
  /**
   * Runs allowed at once: about cores / intra-op threads. A runner with more worker threads than
   * that (DirectRunner starts at least three) would otherwise oversubscribe the cores with ONNX
   * Runtime's spinning threads; waiting threads bin their own previous batch meanwhile.
   */
  private final Semaphore runs;
  /** Threads that update statistics after a run (null: the caller's thread alone). */
  private final ForkJoinPool statsPool;

  /**
   * @param model the float model (already at the opset the quantizer will use)
   * @param tensors the activations to observe, e.g. {@code QdqQuantizer.tensorsToCalibrate}
   * @param intraOpThreads ONNX Runtime intra-op threads (0: ORT's default)
   */
  public Calibrator(ModelProto model, List<String> tensors, int intraOpThreads) {
    if (tensors.isEmpty()) {
      throw new QuantbeamException("Nothing to calibrate: the model has no float activation that"
          + " feeds a quantizable op. Check --opTypes and that the model is float32.");
    }
    this.tensors = List.copyOf(tensors);
    this.outputNames = new LinkedHashSet<>(tensors);
    int cores = Runtime.getRuntime().availableProcessors();
    this.runs = new Semaphore(Math.max(1, intraOpThreads > 0 ? cores / intraOpThreads : 1), true);
    int statsThreads = Math.min(cores, intraOpThreads > 0 ? intraOpThreads : cores);
    this.statsPool = statsThreads > 1 ? new ForkJoinPool(statsThreads) : null;
    byte[] augmented = exposeTensors(model, tensors).toByteArray();
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
      options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
      options.setInterOpNumThreads(1);
      // ONNX Runtime's threads would otherwise spin for a while after each run, on the cores
      // the statistics update needs next.
      options.addConfigEntry("session.intra_op.allow_spinning", "0");
      if (intraOpThreads > 0) {
        options.setIntraOpNumThreads(intraOpThreads);
      }
      this.session = env.createSession(augmented, options);
      this.modelInputs = new LinkedHashSet<>(session.getInputNames());
    } catch (OrtException e) {
      throw new QuantbeamException("ONNX Runtime refused the model prepared for calibration: "
          + e.getMessage(), e);
    }
  }

  /**
   * The model reduced to what computes the calibrated tensors, which become its only outputs.
   * Nodes after the last calibrated tensor (the last layer's output projection, a task head)
   * would cost inference time for values nobody reads. A graph whose nodes carry subgraphs (If,
   * Loop: their outer-scope reads are implicit) is kept whole, with the tensors added as outputs.
   */
  static ModelProto exposeTensors(ModelProto model, List<String> tensors) {
    GraphView view = new GraphView(model.getGraph());
    for (String t : tensors) {
      if (!view.isFloat(t)) {
        throw new QuantbeamException("Tensor '" + t + "' is not a float tensor of the model ("
            + "element type " + DataType.forNumber(view.elementType(t)) + "); cannot calibrate it.");
      }
    }
    GraphProto graph = model.getGraph();
    boolean hasSubgraphs = graph.getNodeList().stream().anyMatch(n -> n.getAttributeList()
        .stream().anyMatch(at -> at.hasG() || at.getGraphsCount() > 0));
    GraphProto.Builder g = graph.toBuilder().clearOutput();
    if (!hasSubgraphs) {
      Set<String> needed = new HashSet<>();
      Deque<String> todo = new ArrayDeque<>(tensors);
      Set<NodeProto> kept = Collections.newSetFromMap(new IdentityHashMap<>());
      while (!todo.isEmpty()) {
        String t = todo.pop();
        if (!needed.add(t)) {
          continue;
        }
        NodeProto producer = view.producer(t);
        if (producer != null && kept.add(producer)) {
          producer.getInputList().stream().filter(in -> !in.isEmpty()).forEach(todo::push);
        }
      }
      g.clearNode().clearInitializer().clearValueInfo().clearInput();
      // an old-style model also lists its initializers as inputs: keep only the needed ones
      graph.getInputList().stream().filter(in -> !view.isInitializer(in.getName())
          || needed.contains(in.getName())).forEach(g::addInput);
      graph.getNodeList().stream().filter(kept::contains).forEach(g::addNode);
      graph.getInitializerList().stream().filter(i -> needed.contains(i.getName()))
          .forEach(g::addInitializer);
      graph.getValueInfoList().stream().filter(v -> needed.contains(v.getName()))
          .forEach(g::addValueInfo);
    } else {
      g.addAllOutput(graph.getOutputList());
    }
    for (String t : tensors) {
      if (hasSubgraphs && view.isGraphOutput(t)) {
        continue;
      }
      g.addOutput(ValueInfoProto.newBuilder().setName(t).setType(
          TypeProto.newBuilder().setTensorType(
              TypeProto.Tensor.newBuilder().setElemType(DataType.FLOAT_VALUE))));
    }
    return model.toBuilder().setGraph(g).build();
  }

  public List<String> tensors() {
    return tensors;
  }

  /** A fresh, empty statistics map for the calibrated tensors (sorted by name). */
  public Map<String, TensorStats> newStatistics() {
    Map<String, TensorStats> stats = new TreeMap<>();
    for (String t : tensors) {
      stats.put(t, new TensorStats());
    }
    return stats;
  }

  /** The model inputs a batch must feed. */
  public Set<String> modelInputs() {
    return modelInputs;
  }

  /** Runs one tokenized batch and adds every exposed tensor's values to {@code stats}. */
  public void observe(EncodedBatch batch, Map<String, TensorStats> stats) {
    Map<String, OnnxTensor> inputs = batch.toOnnxInputs(env, modelInputs);
    try {
      observe(inputs, stats);
    } catch (QuantbeamException e) {
      throw new QuantbeamException("On a calibration batch of " + batch.batchSize() + " x "
          + batch.seqLen() + " tokens: " + e.getMessage(), e.getCause());
    } finally {
      inputs.values().forEach(OnnxTensor::close);
    }
  }

  /** Runs the model on ready-made inputs (the caller closes them) and updates {@code stats}. */
  public void observe(Map<String, OnnxTensor> inputs, Map<String, TensorStats> stats) {
    runs.acquireUninterruptibly();
    OrtSession.Result ran;
    try {
      ran = session.run(inputs, outputNames);
    } catch (OrtException e) {
      throw new QuantbeamException("ONNX Runtime failed: " + e.getMessage()
          + ". If this is out of memory, lower --batchSize or --maxSequenceLength.", e);
    } finally {
      runs.release();
    }
    try (OrtSession.Result result = ran) {
      // Each tensor's statistics are independent, so they are updated side by side on the cores
      // ONNX Runtime just used (identical results in any order); one thread would leave them idle.
      List<Runnable> updates = new ArrayList<>(tensors.size());
      for (String t : tensors) {
        OnnxValue value = result.get(t).orElseThrow();
        TensorStats s = stats.get(t);
        updates.add(() -> s.addBatch(TensorViews.floats((OnnxTensor) value)));
      }
      if (statsPool == null) {
        updates.forEach(Runnable::run);
      } else {
        statsPool.submit(() -> updates.parallelStream().forEach(Runnable::run)).join();
      }
    }
  }

  @Override
  public void close() {
    if (statsPool != null) {
      statsPool.shutdown();
    }
    try {
      session.close();
    } catch (OrtException e) {
      throw new QuantbeamException("Could not close the calibration session: " + e.getMessage(), e);
    }
  }
}
