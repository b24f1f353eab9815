package io.quantbeam.core.testing;

import static io.quantbeam.core.testing.GraphBuilder.floatAttr;
import static io.quantbeam.core.testing.GraphBuilder.floatTensor;
import static io.quantbeam.core.testing.GraphBuilder.intAttr;
import static io.quantbeam.core.testing.GraphBuilder.ints;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A small BERT-shaped encoder built in Java with a fixed seed, laid out like a PyTorch export of
 * a Hugging Face BERT at opset 11/13 (node names such as
 * {@code /encoder/layer.0/attention/self/query/MatMul}, scalars as Constant nodes, weights as
 * initializers named like the PyTorch parameters).
 *
 * <p>Inputs {@code input_ids}, {@code attention_mask}, {@code token_type_ids}: int64
 * [batch_size, sequence_length]. Output {@code last_hidden_state}: float [batch_size,
 * sequence_length, hidden]; or, with a classifier head, {@code logits}: float [batch_size,
 * labels] from mask-weighted mean pooling and a Gemm.
 *
 * <p>Graph: word + token-type + position embedding Gathers (position ids sliced from a
 * {@code embeddings.position_ids} [1, maxPositions] initializer by the sequence length), Add,
 * decomposed LayerNorm (ReduceMean, Sub, Pow, ReduceMean, Add eps, Sqrt, Div, Mul, Add); extended
 * mask Unsqueeze([1,2]) -> Cast -> Sub(1, m) -> Mul(maskValue); per layer: Q/K/V MatMul + Add
 * bias, Reshape to heads (shape from Shape/Gather/Unsqueeze/Concat), Transpose, MatMul, Div
 * sqrt(d), Add mask, Softmax(axis=-1), MatMul, Transpose, Reshape, output MatMul + Add, residual
 * Add, LayerNorm; FFN MatMul + Add, GELU via Erf, MatMul + Add, residual, LayerNorm.
 *
 * <p>MatMul weights are stored [in, out] (as the export's transposed {@code onnx::MatMul_*}
 * copies) under the PyTorch names, e.g. {@code encoder.layer.0.attention.self.query.weight}.
 */
public final class TinyTransformer {
  /** The mask value of recent transformers exports: the lowest float. */
  public static final float MASK_MIN_FLOAT = -3.4028234663852886e38f;

  private TinyTransformer() {}

  /**
   * Configuration. {@code labels == 0} means no classifier head; {@code outlierWeight == null}
   * means no outlier. The outlier multiplies element {@code outlierIndex} of the named
   * initializer by {@code outlierFactor}.
   */
  public record Config(int vocab, int hidden, int heads, int intermediate, int layers, int maxPositions,
      int typeVocab, int opset, long seed, float maskValue, String outlierWeight, int outlierIndex,
      float outlierFactor, int labels) {

    public Config {
      if (hidden % heads != 0) {
        throw new IllegalArgumentException("hidden " + hidden + " is not a multiple of heads " + heads);
      }
      if (opset != 11 && opset != 13) {
        throw new IllegalArgumentException("opset must be 11 or 13, not " + opset);
      }
      if (vocab < 2 || layers < 1 || intermediate < 1 || maxPositions < 1 || typeVocab < 1) {
        throw new IllegalArgumentException("sizes must be positive");
      }
    }

    /** vocab 100, hidden 32, 2 heads, intermediate 64, 2 layers, 64 positions, opset 11, seed 42. */
    public static Config defaults() {
      return new Config(100, 32, 2, 64, 2, 64, 2, 11, 42L, MASK_MIN_FLOAT, null, 0, 1f, 0);
    }

    public Config withVocab(int v) {
      return new Config(v, hidden, heads, intermediate, layers, maxPositions, typeVocab, opset, seed, maskValue,
          outlierWeight, outlierIndex, outlierFactor, labels);
    }

    public Config withSizes(int hidden, int heads, int intermediate, int layers) {
      return new Config(vocab, hidden, heads, intermediate, layers, maxPositions, typeVocab, opset, seed, maskValue,
          outlierWeight, outlierIndex, outlierFactor, labels);
    }

    public Config withMaxPositions(int p) {
      return new Config(vocab, hidden, heads, intermediate, layers, p, typeVocab, opset, seed, maskValue,
          outlierWeight, outlierIndex, outlierFactor, labels);
    }

    public Config withOpset(int o) {
      return new Config(vocab, hidden, heads, intermediate, layers, maxPositions, typeVocab, o, seed, maskValue,
          outlierWeight, outlierIndex, outlierFactor, labels);
    }

    public Config withSeed(long s) {
      return new Config(vocab, hidden, heads, intermediate, layers, maxPositions, typeVocab, opset, s, maskValue,
          outlierWeight, outlierIndex, outlierFactor, labels);
    }

    /** e.g. -10000f (older BERT exports) or {@link #MASK_MIN_FLOAT}. */
    public Config withMaskValue(float m) {
      return new Config(vocab, hidden, heads, intermediate, layers, maxPositions, typeVocab, opset, seed, m,
          outlierWeight, outlierIndex, outlierFactor, labels);
    }

    /** Multiplies element {@code index} of initializer {@code name} by {@code factor}. */
    public Config withOutlier(String name, int index, float factor) {
      return new Config(vocab, hidden, heads, intermediate, layers, maxPositions, typeVocab, opset, seed, maskValue,
          name, index, factor, labels);
    }

    /** Appends mask-weighted mean pooling and a Gemm head; the output becomes {@code logits}. */
    public Config withClassifierHead(int numLabels) {
      return new Config(vocab, hidden, heads, intermediate, layers, maxPositions, typeVocab, opset, seed, maskValue,
          outlierWeight, outlierIndex, outlierFactor, numLabels);
    }

    public int headDim() {
      return hidden / heads;
    }
  }

  /** The default tiny encoder (opset 11, output last_hidden_state). */
  public static ModelProto build() {
    return build(Config.defaults());
  }

  /** The default tiny encoder with a {@code labels}-way classifier head (output logits). */
  public static ModelProto withClassifierHead(int labels) {
    return build(Config.defaults().withClassifierHead(labels));
  }

  public static ModelProto build(Config c) {
    return new Builder(c).build();
  }

  private static final class Builder {
    final Config c;
    final Random rnd;
    final GraphBuilder g = new GraphBuilder("main_graph");
    final boolean v13;

    Builder(Config c) {
      this.c = c;
      this.rnd = new Random(c.seed());
      this.v13 = c.opset() >= 13;
    }

    ModelProto build() {
      g.input("input_ids", TensorProto.DataType.INT64_VALUE, "batch_size", "sequence_length");
      g.input("attention_mask", TensorProto.DataType.INT64_VALUE, "batch_size", "sequence_length");
      g.input("token_type_ids", TensorProto.DataType.INT64_VALUE, "batch_size", "sequence_length");

      // extended attention mask [B,1,1,S]
      String m = unsqueeze("/Unsqueeze", "attention_mask", 1, 2);
      m = g.node("Cast", "/Cast", List.of(m), intAttr("to", TensorProto.DataType.FLOAT_VALUE));
      String one = g.constantScalar("/Constant", 1.0f);
      m = g.node("Sub", "/Sub", List.of(one, m));
      String maskValue = g.constantScalar("/Constant_1", c.maskValue());
      String mask = g.node("Mul", "/Mul", List.of(m, maskValue));

      // embeddings
      int h = c.hidden();
      g.graph().addInitializer(gaussian("embeddings.word_embeddings.weight", 0.5, c.vocab(), h));
      g.graph().addInitializer(gaussian("embeddings.position_embeddings.weight", 0.5, c.maxPositions(), h));
      g.graph().addInitializer(gaussian("embeddings.token_type_embeddings.weight", 0.5, c.typeVocab(), h));
      long[] positions = new long[c.maxPositions()];
      for (int i = 0; i < positions.length; i++) {
        positions[i] = i;
      }
      g.int64Init("embeddings.position_ids", positions, 1, c.maxPositions());
      String shape = g.node("Shape", "/embeddings/Shape", List.of("input_ids"));
      String idx1 = g.constantInt64("/embeddings/Constant", new long[] {1});
      String seqLen = g.node("Gather", "/embeddings/Gather", List.of(shape, idx1), intAttr("axis", 0));
      String zero = g.constantInt64("/embeddings/Constant_1", new long[] {0}, 1);
      String end = unsqueeze("/embeddings/Unsqueeze", seqLen, 0);
      String axis1 = g.constantInt64("/embeddings/Constant_2", new long[] {1}, 1);
      String step = g.constantInt64("/embeddings/Constant_3", new long[] {1}, 1);
      String posIds = g.node("Slice", "/embeddings/Slice",
          List.of("embeddings.position_ids", zero, end, axis1, step));
      String words = g.node("Gather", "/embeddings/word_embeddings/Gather",
          List.of("embeddings.word_embeddings.weight", "input_ids"), intAttr("axis", 0));
      String types = g.node("Gather", "/embeddings/token_type_embeddings/Gather",
          List.of("embeddings.token_type_embeddings.weight", "token_type_ids"), intAttr("axis", 0));
      String x = g.node("Add", "/embeddings/Add", List.of(words, types));
      String pos = g.node("Gather", "/embeddings/position_embeddings/Gather",
          List.of("embeddings.position_embeddings.weight", posIds), intAttr("axis", 0));
      x = g.node("Add", "/embeddings/Add_1", List.of(x, pos));
      x = layerNorm("/embeddings/LayerNorm", "embeddings.LayerNorm", x);

      for (int l = 0; l < c.layers(); l++) {
        x = layer(l, x, mask);
      }

      if (c.labels() > 0) {
        String logits = classifierHead(x);
        rename(logits, "logits");
        g.output("logits", TensorProto.DataType.FLOAT_VALUE, "batch_size", (long) c.labels());
      } else {
        rename(x, "last_hidden_state");
        g.output("last_hidden_state", TensorProto.DataType.FLOAT_VALUE, "batch_size", "sequence_length", (long) h);
      }
      applyOutlier();
      ModelProto model = g.model(c.opset());
      return model.toBuilder().setIrVersion(c.opset() >= 13 ? 7 : 6).setProducerName("quantbeam TinyTransformer")
          .setProducerVersion("1").setDocString("seeded test encoder: " + c).build();
    }

    String layer(int l, String x, String mask) {
      int h = c.hidden();
      int d = c.headDim();
      String p = "/encoder/layer." + l;
      String w = "encoder.layer." + l;
      String sp = p + "/attention/self";

      String q = linear(sp + "/query", w + ".attention.self.query", x, h, h);
      String k = linear(sp + "/key", w + ".attention.self.key", x, h, h);
      String v = linear(sp + "/value", w + ".attention.self.value", x, h, h);

      // dynamic [B, S, heads, d] like the export: Shape -> Gather -> Unsqueeze -> Concat
      String shp = g.node("Shape", sp + "/Shape", List.of(x));
      String b = g.node("Gather", sp + "/Gather",
          List.of(shp, g.constantInt64(sp + "/Constant", new long[] {0})), intAttr("axis", 0));
      String s = g.node("Gather", sp + "/Gather_1",
          List.of(shp, g.constantInt64(sp + "/Constant_1", new long[] {1})), intAttr("axis", 0));
      String bU = unsqueeze(sp + "/Unsqueeze", b, 0);
      String sU = unsqueeze(sp + "/Unsqueeze_1", s, 0);
      String headShape = g.node("Concat", sp + "/Concat", List.of(bU, sU,
          g.constantInt64(sp + "/Constant_2", new long[] {c.heads()}, 1),
          g.constantInt64(sp + "/Constant_3", new long[] {d}, 1)), intAttr("axis", 0));

      String qh = g.node("Reshape", sp + "/Reshape", List.of(q, headShape));
      String kh = g.node("Reshape", sp + "/Reshape_1", List.of(k, headShape));
      String vh = g.node("Reshape", sp + "/Reshape_2", List.of(v, headShape));
      String qt = g.node("Transpose", sp + "/Transpose", List.of(qh), ints("perm", 0, 2, 1, 3));
      String kt = g.node("Transpose", sp + "/Transpose_1", List.of(kh), ints("perm", 0, 2, 3, 1));
      String vt = g.node("Transpose", sp + "/Transpose_2", List.of(vh), ints("perm", 0, 2, 1, 3));
      String scores = g.node("MatMul", sp + "/MatMul", List.of(qt, kt));
      String sqrtD = g.constantScalar(sp + "/Constant_4", (float) Math.sqrt(d));
      scores = g.node("Div", sp + "/Div", List.of(scores, sqrtD));
      scores = g.node("Add", sp + "/Add", List.of(scores, mask));
      String probs = g.node("Softmax", sp + "/Softmax", List.of(scores), intAttr("axis", -1));
      String ctx = g.node("MatMul", sp + "/MatMul_1", List.of(probs, vt));
      ctx = g.node("Transpose", sp + "/Transpose_3", List.of(ctx), ints("perm", 0, 2, 1, 3));
      String mergedShape = g.node("Concat", sp + "/Concat_1", List.of(bU, sU,
          g.constantInt64(sp + "/Constant_5", new long[] {h}, 1)), intAttr("axis", 0));
      ctx = g.node("Reshape", sp + "/Reshape_3", List.of(ctx, mergedShape));

      String ao = p + "/attention/output";
      String attn = linear(ao + "/dense", w + ".attention.output.dense", ctx, h, h);
      attn = g.node("Add", ao + "/Add", List.of(attn, x));
      attn = layerNorm(ao + "/LayerNorm", w + ".attention.output.LayerNorm", attn);

      String inter = linear(p + "/intermediate/dense", w + ".intermediate.dense", attn, h, c.intermediate());
      inter = gelu(p + "/intermediate/intermediate_act_fn", inter);
      String out = linear(p + "/output/dense", w + ".output.dense", inter, c.intermediate(), h);
      out = g.node("Add", p + "/output/Add", List.of(out, attn));
      return layerNorm(p + "/output/LayerNorm", w + ".output.LayerNorm", out);
    }

    /** MatMul(x, W[in,out]) then Add(bias, y), bias first like the export. */
    String linear(String prefix, String param, String x, int in, int out) {
      g.graph().addInitializer(gaussian(param + ".weight", 0.25, in, out));
      g.graph().addInitializer(gaussian(param + ".bias", 0.05, out));
      String y = g.node("MatMul", prefix + "/MatMul", List.of(x, param + ".weight"));
      return g.node("Add", prefix + "/Add", List.of(param + ".bias", y));
    }

    String layerNorm(String prefix, String param, String x) {
      int h = c.hidden();
      float[] gamma = new float[h];
      float[] beta = new float[h];
      for (int i = 0; i < h; i++) {
        gamma[i] = (float) (1.0 + 0.1 * rnd.nextGaussian());
        beta[i] = (float) (0.05 * rnd.nextGaussian());
      }
      g.floatInit(param + ".weight", gamma, h);
      g.floatInit(param + ".bias", beta, h);
      String mean = g.node("ReduceMean", prefix + "/ReduceMean", List.of(x), ints("axes", -1));
      String centered = g.node("Sub", prefix + "/Sub", List.of(x, mean));
      String two = g.constantScalar(prefix + "/Constant", 2.0f);
      String sq = g.node("Pow", prefix + "/Pow", List.of(centered, two));
      String var = g.node("ReduceMean", prefix + "/ReduceMean_1", List.of(sq), ints("axes", -1));
      String eps = g.constantScalar(prefix + "/Constant_1", 1e-12f);
      String ve = g.node("Add", prefix + "/Add", List.of(var, eps));
      String std = g.node("Sqrt", prefix + "/Sqrt", List.of(ve));
      String norm = g.node("Div", prefix + "/Div", List.of(centered, std));
      String scaled = g.node("Mul", prefix + "/Mul", List.of(norm, param + ".weight"));
      return g.node("Add", prefix + "/Add_1", List.of(scaled, param + ".bias"));
    }

    String gelu(String prefix, String x) {
      String sqrt2 = g.constantScalar(prefix + "/Constant", (float) Math.sqrt(2.0));
      String div = g.node("Div", prefix + "/Div", List.of(x, sqrt2));
      String erf = g.node("Erf", prefix + "/Erf", List.of(div));
      String one = g.constantScalar(prefix + "/Constant_1", 1.0f);
      String add = g.node("Add", prefix + "/Add", List.of(erf, one));
      String mul = g.node("Mul", prefix + "/Mul", List.of(x, add));
      String half = g.constantScalar(prefix + "/Constant_2", 0.5f);
      return g.node("Mul", prefix + "/Mul_1", List.of(mul, half));
    }

    /** mean over tokens weighted by the mask, then Gemm to [B, labels]. */
    String classifierHead(String x) {
      String p = "/pooler";
      String m = unsqueeze(p + "/Unsqueeze", "attention_mask", -1);
      m = g.node("Cast", p + "/Cast", List.of(m), intAttr("to", TensorProto.DataType.FLOAT_VALUE));
      String weighted = g.node("Mul", p + "/Mul", List.of(x, m));
      String sum = reduceSum(p + "/ReduceSum", weighted, 1);
      String count = reduceSum(p + "/ReduceSum_1", m, 1);
      String minCount = g.constantScalar(p + "/Constant", 1e-9f);
      count = g.node("Max", p + "/Max", List.of(count, minCount));
      String pooled = g.node("Div", p + "/Div", List.of(sum, count));
      g.graph().addInitializer(gaussian("classifier.weight", 0.25, c.labels(), c.hidden()));
      g.graph().addInitializer(gaussian("classifier.bias", 0.05, c.labels()));
      return g.node("Gemm", "/classifier/Gemm", List.of(pooled, "classifier.weight", "classifier.bias"),
          floatAttr("alpha", 1f), floatAttr("beta", 1f), intAttr("transB", 1));
    }

    String unsqueeze(String name, String x, long... axes) {
      if (v13) {
        String a = g.constantInt64(name.replace("Unsqueeze", "Unsqueeze_axes"), axes, axes.length);
        return g.node("Unsqueeze", name, List.of(x, a));
      }
      return g.node("Unsqueeze", name, List.of(x), ints("axes", axes));
    }

    String reduceSum(String name, String x, long axis) {
      if (v13) {
        String a = g.constantInt64(name.replace("ReduceSum", "ReduceSum_axes"), new long[] {axis}, 1);
        return g.node("ReduceSum", name, List.of(x, a), intAttr("keepdims", 0));
      }
      return g.node("ReduceSum", name, List.of(x), ints("axes", axis), intAttr("keepdims", 0));
    }

    /** Renames the tensor {@code from} to {@code to} in the node that produces it. */
    void rename(String from, String to) {
      GraphProto.Builder gb = g.graph();
      for (int i = 0; i < gb.getNodeCount(); i++) {
        var n = gb.getNode(i);
        for (int j = 0; j < n.getOutputCount(); j++) {
          if (n.getOutput(j).equals(from)) {
            gb.setNode(i, n.toBuilder().setOutput(j, to));
          }
        }
      }
    }

    TensorProto gaussian(String name, double std, long... dims) {
      int n = 1;
      for (long d : dims) {
        n *= (int) d;
      }
      float[] v = new float[n];
      for (int i = 0; i < n; i++) {
        v[i] = (float) (std * rnd.nextGaussian());
      }
      return floatTensor(name, v, dims);
    }

    void applyOutlier() {
      if (c.outlierWeight() == null) {
        return;
      }
      GraphProto.Builder gb = g.graph();
      List<String> names = new ArrayList<>();
      for (int i = 0; i < gb.getInitializerCount(); i++) {
        TensorProto t = gb.getInitializer(i);
        names.add(t.getName());
        if (!t.getName().equals(c.outlierWeight())) {
          continue;
        }
        if (t.getDataType() != TensorProto.DataType.FLOAT_VALUE) {
          throw new IllegalArgumentException("outlier weight " + t.getName() + " is not a float tensor");
        }
        ByteBuffer bb = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        float[] data = new float[bb.remaining() / 4];
        bb.asFloatBuffer().get(data);
        if (c.outlierIndex() < 0 || c.outlierIndex() >= data.length) {
          throw new IllegalArgumentException("outlier index " + c.outlierIndex() + " outside " + t.getName()
              + " with " + data.length + " elements");
        }
        data[c.outlierIndex()] *= c.outlierFactor();
        ByteBuffer out = ByteBuffer.allocate(4 * data.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : data) {
          out.putFloat(x);
        }
        gb.setInitializer(i, t.toBuilder().setRawData(ByteString.copyFrom(out.array())));
        return;
      }
      throw new IllegalArgumentException("no initializer named '" + c.outlierWeight() + "'; initializers: " + names);
    }
  }

  /** Names of the float initializers of a model, in graph order (handy for picking an outlier). */
  public static List<String> floatInitializerNames(ModelProto m) {
    List<String> out = new ArrayList<>();
    for (TensorProto t : m.getGraph().getInitializerList()) {
      if (t.getDataType() == TensorProto.DataType.FLOAT_VALUE) {
        out.add(t.getName());
      }
    }
    return out;
  }
}
