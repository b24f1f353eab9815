package io.quantbeam.core.testing;

import static io.quantbeam.core.testing.GraphBuilder.floatAttr;
import static io.quantbeam.core.testing.GraphBuilder.floatTensor;
import static io.quantbeam.core.testing.GraphBuilder.intAttr;
import static io.quantbeam.core.testing.GraphBuilder.ints;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
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
 *
 * <p>That is the {@link Export#BERT} layout; {@link Config#withExport} lays the same weights out
 * as the other export variants (DistilBERT, RoBERTa, BERT optimized by ONNX Runtime), and
 * {@link #buildDescribed} also says where the word-embedding Gather and the mask path are.
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
      float outlierFactor, int labels, Export export) {

    public Config {
      if (hidden % heads != 0) {
        throw new IllegalArgumentException("hidden " + hidden + " is not a multiple of heads " + heads);
      }
      if (export == null) {
        throw new IllegalArgumentException("export is null; Export.BERT is the default layout");
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
      return new Config(100, 32, 2, 64, 2, 64, 2, 11, 42L, MASK_MIN_FLOAT, null, 0, 1f, 0, Export.BERT);
    }

    public Config withVocab(int v) {
      return new Config(v, hidden, heads, intermediate, layers, maxPositions, typeVocab, opset, seed, maskValue,
          outlierWeight, outlierIndex, outlierFactor, labels, export);
    }

    public Config withSizes(int hidden, int heads, int intermediate, int layers) {
      return new Config(vocab, hidden, heads, intermediate, layers, maxPositions, typeVocab, opset, seed, maskValue,
          outlierWeight, outlierIndex, outlierFactor, labels, export);
    }

    public Config withMaxPositions(int p) {
      return new Config(vocab, hidden, heads, intermediate, layers, p, typeVocab, opset, seed, maskValue,
          outlierWeight, outlierIndex, outlierFactor, labels, export);
    }

    public Config withOpset(int o) {
      return new Config(vocab, hidden, heads, intermediate, layers, maxPositions, typeVocab, o, seed, maskValue,
          outlierWeight, outlierIndex, outlierFactor, labels, export);
    }

    public Config withSeed(long s) {
      return new Config(vocab, hidden, heads, intermediate, layers, maxPositions, typeVocab, opset, s, maskValue,
          outlierWeight, outlierIndex, outlierFactor, labels, export);
    }

    /** e.g. -10000f (older BERT exports) or {@link #MASK_MIN_FLOAT}. */
    public Config withMaskValue(float m) {
      return new Config(vocab, hidden, heads, intermediate, layers, maxPositions, typeVocab, opset, seed, m,
          outlierWeight, outlierIndex, outlierFactor, labels, export);
    }

    /** Multiplies element {@code index} of initializer {@code name} by {@code factor}. */
    public Config withOutlier(String name, int index, float factor) {
      return new Config(vocab, hidden, heads, intermediate, layers, maxPositions, typeVocab, opset, seed, maskValue,
          name, index, factor, labels, export);
    }

    /** Appends mask-weighted mean pooling and a Gemm head; the output becomes {@code logits}. */
    public Config withClassifierHead(int numLabels) {
      return new Config(vocab, hidden, heads, intermediate, layers, maxPositions, typeVocab, opset, seed, maskValue,
          outlierWeight, outlierIndex, outlierFactor, numLabels, export);
    }

    /** Lays the graph out like {@code e}'s export (see {@link Export}). */
    public Config withExport(Export e) {
      return new Config(vocab, hidden, heads, intermediate, layers, maxPositions, typeVocab, opset, seed, maskValue,
          outlierWeight, outlierIndex, outlierFactor, labels, e);
    }

    /** The tiny default sizes at opset 13 with a 2-way classifier, laid out like {@code e}. */
    public static Config classifier(Export e) {
      return defaults().withOpset(13).withClassifierHead(2).withExport(e);
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
    return new Builder(c).build().model();
  }

  /**
   * A built model and what tests need to know about it: its output, the word-embedding Gather's
   * node name, and every tensor of its attention-mask path (computed from attention_mask, shapes
   * and constants only), which must never go through Q/DQ.
   */
  public record Built(ModelProto model, String output, String wordEmbeddingGather, List<String> maskTensors) {}

  public static Built buildDescribed(Config c) {
    return new Builder(c).build();
  }

  /** RoBERTa's padding token id; its position ids start after it. */
  public static final long ROBERTA_PADDING_ID = 1;

  /**
   * How the graph is laid out: the export variants Quantbeam recognises. ORT_FUSED draws BERT's
   * weights from the seed in BERT's order, so for one config it computes BERT's function.
   */
  public enum Export {
    /**
     * Hugging Face BERT through torch.onnx.export: input_ids, attention_mask, token_type_ids;
     * extended mask Unsqueeze -> Cast -> Sub(1, m) -> Mul(maskValue) added to the scores; with a
     * head, mask-weighted mean pooling and a Gemm to {@code logits}.
     */
    BERT,
    /**
     * DistilBERT: input_ids and attention_mask only; word + position embeddings; q scaled before
     * the scores; in every layer the mask is (mask == 0) -> Reshape to [B, 1, 1, S] (shape from
     * Shape of the hidden state) -> Expand to Shape(scores) -> Where(., finfo.min, scores); names
     * q_lin/k_lin/v_lin/out_lin, sa_layer_norm, ffn/lin1, ffn/lin2, output_layer_norm; head: first
     * token -> pre_classifier Gemm -> Relu -> classifier Gemm, output named {@code output}.
     */
    DISTILBERT,
    /**
     * RoBERTa: input_ids and attention_mask, no token types; position ids computed from input_ids
     * (padding id 1): Not(Equal(ids, 1)) -> Cast int32 -> CumSum -> Mul(mask) -> Cast int64 ->
     * Add(1), so a table of maxPositions + 2 rows; the mask expanded to [B, 1, S, S] from
     * Shape(input_ids), inverted and filled with finfo.min by Where; head: first token -> dense
     * Gemm -> Tanh -> out_proj Gemm to {@code logits}.
     */
    ROBERTA,
    /**
     * BERT after ONNX Runtime's transformer optimizer: the same weights and inputs, with
     * com.microsoft nodes: SkipLayerNormalization (embedding sum + position, and each residual
     * LayerNorm with the projection bias), Attention (Q/K/V in one [hidden, 3 hidden] weight, the
     * mask as an int32 mask_index), BiasGelu; the embedding Gathers and the projection MatMuls stay.
     */
    ORT_FUSED
  }

  private static final class Builder {
    final Config c;
    final Random rnd;
    final GraphBuilder g = new GraphBuilder("main_graph");
    final boolean v13;
    final Export e;
    /** Tensors that carry only the attention mask (and shapes, constants): see {@link Built}. */
    final List<String> maskTensors = new ArrayList<>();

    Builder(Config c) {
      this.c = c;
      this.rnd = new Random(c.seed());
      this.v13 = c.opset() >= 13;
      this.e = c.export();
    }

    /** Node-name prefix of the model body, as each export names it. */
    String root() {
      return switch (e) {
        case DISTILBERT -> "/distilbert";
        case ROBERTA -> "/roberta";
        default -> "";
      };
    }

    /** Parameter-name prefix (the PyTorch module path). */
    String params() {
      return root().isEmpty() ? "" : root().substring(1) + ".";
    }

    Built build() {
      g.input("input_ids", TensorProto.DataType.INT64_VALUE, "batch_size", "sequence_length");
      g.input("attention_mask", TensorProto.DataType.INT64_VALUE, "batch_size", "sequence_length");
      if (e == Export.BERT || e == Export.ORT_FUSED) {
        g.input("token_type_ids", TensorProto.DataType.INT64_VALUE, "batch_size", "sequence_length");
      }
      String mask = switch (e) {
        case BERT -> extendedMask();
        case ROBERTA -> expandedMask();
        case ORT_FUSED -> mask(g.node("Cast", "/Cast", List.of("attention_mask"),
            intAttr("to", TensorProto.DataType.INT32_VALUE)));
        case DISTILBERT -> null; // built in every layer from attention_mask
      };

      String x = embeddings();
      for (int l = 0; l < c.layers(); l++) {
        x = e == Export.ORT_FUSED ? fusedLayer(l, x, mask) : layer(l, x, mask);
      }

      String output = e == Export.DISTILBERT ? "output" : "logits";
      if (c.labels() > 0) {
        String logits = e == Export.DISTILBERT || e == Export.ROBERTA ? firstTokenHead(x) : classifierHead(x);
        rename(logits, output);
        g.output(output, TensorProto.DataType.FLOAT_VALUE, "batch_size", (long) c.labels());
      } else {
        output = "last_hidden_state";
        rename(x, output);
        g.output(output, TensorProto.DataType.FLOAT_VALUE, "batch_size", "sequence_length", (long) c.hidden());
      }
      applyOutlier();
      ModelProto model = g.model(c.opset());
      ModelProto.Builder mb = model.toBuilder().setIrVersion(c.opset() >= 13 ? 7 : 6)
          .setProducerName("quantbeam TinyTransformer").setProducerVersion("1")
          .setDocString("seeded test encoder: " + c);
      if (e == Export.ORT_FUSED) {
        mb.addOpsetImport(OperatorSetIdProto.newBuilder().setDomain(GraphBuilder.CONTRIB_DOMAIN).setVersion(1));
      }
      return new Built(mb.build(), output, root() + "/embeddings/word_embeddings/Gather",
          List.copyOf(maskTensors));
    }

    /** Records a mask-path tensor and returns it. */
    String mask(String tensor) {
      maskTensors.add(tensor);
      return tensor;
    }

    /** BERT's [B, 1, 1, S] additive mask: Unsqueeze -> Cast -> Sub(1, m) -> Mul(maskValue). */
    String extendedMask() {
      String m = mask(unsqueeze("/Unsqueeze", "attention_mask", 1, 2));
      m = mask(g.node("Cast", "/Cast", List.of(m), intAttr("to", TensorProto.DataType.FLOAT_VALUE)));
      String one = g.constantScalar("/Constant", 1.0f);
      m = mask(g.node("Sub", "/Sub", List.of(one, m)));
      String maskValue = g.constantScalar("/Constant_1", c.maskValue());
      return mask(g.node("Mul", "/Mul", List.of(m, maskValue)));
    }

    /**
     * The newer transformers' [B, 1, S, S] mask: expanded to a shape computed from input_ids,
     * inverted, and its ones replaced by the lowest float (masked_fill exports as Where).
     */
    String expandedMask() {
      String p = root();
      String m = mask(unsqueeze(p + "/Unsqueeze", "attention_mask", 1, 2));
      String shape = g.node("Shape", p + "/Shape", List.of("input_ids"));
      String b = unsqueeze(p + "/Unsqueeze_1", g.node("Gather", p + "/Gather",
          List.of(shape, g.constantInt64(p + "/Constant", new long[] {0})), intAttr("axis", 0)), 0);
      String s = unsqueeze(p + "/Unsqueeze_2", g.node("Gather", p + "/Gather_1",
          List.of(shape, g.constantInt64(p + "/Constant_1", new long[] {1})), intAttr("axis", 0)), 0);
      String to = g.node("Concat", p + "/Concat", List.of(b,
          g.constantInt64(p + "/Constant_2", new long[] {1}, 1), s, s), intAttr("axis", 0));
      m = mask(g.node("Expand", p + "/Expand", List.of(m, to)));
      m = mask(g.node("Cast", p + "/Cast", List.of(m), intAttr("to", TensorProto.DataType.FLOAT_VALUE)));
      String one = g.constantScalar(p + "/Constant_3", 1.0f);
      String inverted = mask(g.node("Sub", p + "/Sub", List.of(one, m)));
      String masked = mask(g.node("Cast", p + "/Cast_1", List.of(inverted),
          intAttr("to", TensorProto.DataType.BOOL_VALUE)));
      String min = g.constantScalar(p + "/Constant_4", c.maskValue());
      return mask(g.node("Where", p + "/Where", List.of(masked, min, inverted)));
    }

    /** Word (+ token type) + position embeddings and their LayerNorm; returns the hidden state. */
    String embeddings() {
      int h = c.hidden();
      String p = root() + "/embeddings";
      String w = params() + "embeddings";
      boolean roberta = e == Export.ROBERTA;
      int positionRows = roberta ? c.maxPositions() + 2 : c.maxPositions();
      g.graph().addInitializer(gaussian(w + ".word_embeddings.weight", 0.5, c.vocab(), h));
      g.graph().addInitializer(gaussian(w + ".position_embeddings.weight", 0.5, positionRows, h));
      boolean types = e == Export.BERT || e == Export.ORT_FUSED;
      if (types) {
        g.graph().addInitializer(gaussian(w + ".token_type_embeddings.weight", 0.5, c.typeVocab(), h));
      }
      String posIds = roberta ? robertaPositionIds(p) : slicedPositionIds(p, w);
      String x = g.node("Gather", p + "/word_embeddings/Gather",
          List.of(w + ".word_embeddings.weight", "input_ids"), intAttr("axis", 0));
      if (types) {
        String t = g.node("Gather", p + "/token_type_embeddings/Gather",
            List.of(w + ".token_type_embeddings.weight", "token_type_ids"), intAttr("axis", 0));
        x = g.node("Add", p + "/Add", List.of(x, t));
      }
      String pos = g.node("Gather", p + "/position_embeddings/Gather",
          List.of(w + ".position_embeddings.weight", posIds), intAttr("axis", 0));
      LayerNormParams ln = layerNormParams(w + ".LayerNorm");
      if (e == Export.ORT_FUSED) {
        return skipLayerNorm("SkipLayerNorm_embeddings", x, pos, ln, null);
      }
      x = g.node("Add", p + (types ? "/Add_1" : "/Add"), List.of(x, pos));
      return layerNorm(p + "/LayerNorm", ln, x);
    }

    /** BERT/DistilBERT: a registered position_ids buffer sliced to the sequence length. */
    String slicedPositionIds(String p, String w) {
      long[] positions = new long[c.maxPositions()];
      for (int i = 0; i < positions.length; i++) {
        positions[i] = i;
      }
      g.int64Init(w + ".position_ids", positions, 1, c.maxPositions());
      String shape = g.node("Shape", p + "/Shape", List.of("input_ids"));
      String idx1 = g.constantInt64(p + "/Constant", new long[] {1});
      String seqLen = g.node("Gather", p + "/Gather", List.of(shape, idx1), intAttr("axis", 0));
      String zero = g.constantInt64(p + "/Constant_1", new long[] {0}, 1);
      String end = unsqueeze(p + "/Unsqueeze", seqLen, 0);
      String axis1 = g.constantInt64(p + "/Constant_2", new long[] {1}, 1);
      String step = g.constantInt64(p + "/Constant_3", new long[] {1}, 1);
      return g.node("Slice", p + "/Slice", List.of(w + ".position_ids", zero, end, axis1, step));
    }

    /** RoBERTa: cumsum of the non-padding tokens, offset by the padding id (1). */
    String robertaPositionIds(String p) {
      String pad = g.constantInt64(p + "/Constant", new long[] {ROBERTA_PADDING_ID});
      String isPad = g.node("Equal", p + "/Equal", List.of("input_ids", pad));
      String real = g.node("Not", p + "/Not", List.of(isPad));
      String m = g.node("Cast", p + "/Cast", List.of(real), intAttr("to", TensorProto.DataType.INT32_VALUE));
      String axis = g.constantInt64(p + "/Constant_1", new long[] {1});
      String cum = g.node("CumSum", p + "/CumSum", List.of(m, axis));
      cum = g.node("Cast", p + "/Cast_1", List.of(cum), intAttr("to", TensorProto.DataType.INT32_VALUE));
      String incremental = g.node("Mul", p + "/Mul", List.of(cum, m));
      incremental = g.node("Cast", p + "/Cast_2", List.of(incremental),
          intAttr("to", TensorProto.DataType.INT64_VALUE));
      return g.node("Add", p + "/Add_positions", List.of(incremental, pad));
    }

    /** Per-layer parameter names, by export. */
    record LayerNames(String q, String k, String v, String attnOut, String ln1, String ffnIn, String ffnOut,
        String ln2) {}

    LayerNames names() {
      if (e == Export.DISTILBERT) {
        return new LayerNames("attention/q_lin", "attention/k_lin", "attention/v_lin", "attention/out_lin",
            "sa_layer_norm", "ffn/lin1", "ffn/lin2", "output_layer_norm");
      }
      return new LayerNames("attention/self/query", "attention/self/key", "attention/self/value",
          "attention/output/dense", "attention/output/LayerNorm", "intermediate/dense", "output/dense",
          "output/LayerNorm");
    }

    String layerPath(int l) {
      return root() + (e == Export.DISTILBERT ? "/transformer" : "/encoder") + "/layer." + l;
    }

    String layer(int l, String x, String mask) {
      int h = c.hidden();
      int d = c.headDim();
      LayerNames n = names();
      String p = layerPath(l);
      String w = p.substring(1).replace('/', '.');
      String sp = e == Export.DISTILBERT ? p + "/attention" : p + "/attention/self";

      String q = linear(p + "/" + n.q(), linearParams(w + "." + n.q().replace('/', '.'), h, h), x);
      String k = linear(p + "/" + n.k(), linearParams(w + "." + n.k().replace('/', '.'), h, h), x);
      String v = linear(p + "/" + n.v(), linearParams(w + "." + n.v().replace('/', '.'), h, h), x);

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
      String scores;
      if (e == Export.DISTILBERT) {
        // q / sqrt(d) before the product, then masked_fill(mask == 0, finfo.min) as Where
        String sqrtD = g.constantScalar(sp + "/Constant_4", (float) Math.sqrt(d));
        qt = g.node("Div", sp + "/Div", List.of(qt, sqrtD));
        scores = g.node("MatMul", sp + "/MatMul", List.of(qt, kt));
        String zero = g.constantInt64(sp + "/Constant_6", new long[] {0});
        String isPad = mask(g.node("Equal", sp + "/Equal", List.of("attention_mask", zero)));
        String one = g.constantInt64(sp + "/Constant_7", new long[] {1}, 1);
        String maskShape = g.node("Concat", sp + "/Concat_2", List.of(bU, one, one, sU), intAttr("axis", 0));
        String viewed = mask(g.node("Reshape", sp + "/Reshape_4", List.of(isPad, maskShape)));
        String scoresShape = g.node("Shape", sp + "/Shape_1", List.of(scores));
        String expanded = mask(g.node("Expand", sp + "/Expand", List.of(viewed, scoresShape)));
        String min = g.constantScalar(sp + "/Constant_8", c.maskValue());
        scores = g.node("Where", sp + "/Where", List.of(expanded, min, scores));
      } else {
        scores = g.node("MatMul", sp + "/MatMul", List.of(qt, kt));
        String sqrtD = g.constantScalar(sp + "/Constant_4", (float) Math.sqrt(d));
        scores = g.node("Div", sp + "/Div", List.of(scores, sqrtD));
        scores = g.node("Add", sp + "/Add", List.of(scores, mask));
      }
      String probs = g.node("Softmax", sp + "/Softmax", List.of(scores), intAttr("axis", -1));
      String ctx = g.node("MatMul", sp + "/MatMul_1", List.of(probs, vt));
      ctx = g.node("Transpose", sp + "/Transpose_3", List.of(ctx), ints("perm", 0, 2, 1, 3));
      String mergedShape = g.node("Concat", sp + "/Concat_1", List.of(bU, sU,
          g.constantInt64(sp + "/Constant_5", new long[] {h}, 1)), intAttr("axis", 0));
      ctx = g.node("Reshape", sp + "/Reshape_3", List.of(ctx, mergedShape));

      String attn = linear(p + "/" + n.attnOut(), linearParams(w + "." + n.attnOut().replace('/', '.'), h, h), ctx);
      String residual = e == Export.DISTILBERT ? p + "/attention/Add" : p + "/attention/output/Add";
      attn = g.node("Add", residual, List.of(attn, x));
      attn = layerNorm(p + "/" + n.ln1(), layerNormParams(w + "." + n.ln1().replace('/', '.')), attn);

      Linear in = linearParams(w + "." + n.ffnIn().replace('/', '.'), h, c.intermediate());
      String inter = linear(p + "/" + n.ffnIn(), in, attn);
      inter = gelu(e == Export.DISTILBERT ? p + "/ffn/activation" : p + "/intermediate/intermediate_act_fn", inter);
      Linear outParams = linearParams(w + "." + n.ffnOut().replace('/', '.'), c.intermediate(), h);
      String out = linear(p + "/" + n.ffnOut(), outParams, inter);
      out = g.node("Add", e == Export.DISTILBERT ? p + "/Add" : p + "/output/Add", List.of(out, attn));
      return layerNorm(p + "/" + n.ln2(), layerNormParams(w + "." + n.ln2().replace('/', '.')), out);
    }

    /**
     * A BERT layer as ONNX Runtime's optimizer leaves it: Attention(x, Wqkv, bqkv, mask_index),
     * the output MatMul into SkipLayerNormalization(., x, gamma, beta, bias), the FFN MatMul into
     * BiasGelu, the second FFN MatMul into SkipLayerNormalization. Same weights as {@link #layer}.
     */
    String fusedLayer(int l, String x, String maskIndex) {
      int h = c.hidden();
      String p = layerPath(l);
      String w = p.substring(1).replace('/', '.');
      Linear q = linearParams(w + ".attention.self.query", h, h);
      Linear k = linearParams(w + ".attention.self.key", h, h);
      Linear v = linearParams(w + ".attention.self.value", h, h);
      // [hidden, 3 hidden]: row r holds q's row r, then k's, then v's; the bias q | k | v
      float[] qkv = new float[h * 3 * h];
      float[] qkvBias = new float[3 * h];
      Linear[] parts = {q, k, v};
      for (int part = 0; part < 3; part++) {
        for (int r = 0; r < h; r++) {
          System.arraycopy(parts[part].weight(), r * h, qkv, r * 3 * h + part * h, h);
        }
        System.arraycopy(parts[part].bias(), 0, qkvBias, part * h, h);
      }
      String wName = "Attention_" + l + "_qkv_weight";
      String bName = "Attention_" + l + "_qkv_bias";
      g.floatInit(wName, qkv, h, 3L * h);
      g.floatInit(bName, qkvBias, 3L * h);
      String ctx = g.contribNode("Attention", "Attention_" + l, List.of(x, wName, bName, maskIndex),
          intAttr("num_heads", c.heads()));

      Linear o = linearParams(w + ".attention.output.dense", h, h);
      String attn = skipLayerNorm("SkipLayerNorm_" + l + "_attention", matMul(p + "/attention/output/dense", o, ctx),
          x, layerNormParams(w + ".attention.output.LayerNorm"), o);
      Linear in = linearParams(w + ".intermediate.dense", h, c.intermediate());
      String inter = g.contribNode("BiasGelu", "BiasGelu_" + l,
          List.of(matMul(p + "/intermediate/dense", in, attn), addInit(in.biasName(), in.bias(), in.out())));
      Linear out = linearParams(w + ".output.dense", c.intermediate(), h);
      return skipLayerNorm("SkipLayerNorm_" + l + "_output", matMul(p + "/output/dense", out, inter), attn,
          layerNormParams(w + ".output.LayerNorm"), out);
    }

    /** SkipLayerNormalization(input, skip, gamma, beta[, bias]) = LayerNorm(input + skip + bias). */
    String skipLayerNorm(String name, String input, String skip, LayerNormParams ln, Linear bias) {
      List<String> inputs = new ArrayList<>(List.of(input, skip, addInit(ln.gammaName(), ln.gamma(), c.hidden()),
          addInit(ln.betaName(), ln.beta(), c.hidden())));
      if (bias != null) {
        inputs.add(addInit(bias.biasName(), bias.bias(), bias.out()));
      }
      return g.contribNode("SkipLayerNormalization", name, inputs, floatAttr("epsilon", 1e-12f));
    }

    /** A linear layer's weights, drawn now (weight then bias), added to the graph when used. */
    record Linear(String weightName, float[] weight, String biasName, float[] bias, int in, int out) {}

    Linear linearParams(String param, int in, int out) {
      float[] w = gaussianData(0.25, (long) in * out);
      float[] b = gaussianData(0.05, out);
      return new Linear(param + ".weight", w, param + ".bias", b, in, out);
    }

    String addInit(String name, float[] data, long... dims) {
      g.floatInit(name, data, dims);
      return name;
    }

    String matMul(String prefix, Linear p, String x) {
      return g.node("MatMul", prefix + "/MatMul", List.of(x, addInit(p.weightName(), p.weight(), p.in(), p.out())));
    }

    /** MatMul(x, W[in,out]) then Add(bias, y), bias first like the export. */
    String linear(String prefix, Linear p, String x) {
      String y = matMul(prefix, p, x);
      return g.node("Add", prefix + "/Add", List.of(addInit(p.biasName(), p.bias(), p.out()), y));
    }

    record LayerNormParams(String gammaName, float[] gamma, String betaName, float[] beta) {}

    LayerNormParams layerNormParams(String param) {
      int h = c.hidden();
      float[] gamma = new float[h];
      float[] beta = new float[h];
      for (int i = 0; i < h; i++) {
        gamma[i] = (float) (1.0 + 0.1 * rnd.nextGaussian());
        beta[i] = (float) (0.05 * rnd.nextGaussian());
      }
      return new LayerNormParams(param + ".weight", gamma, param + ".bias", beta);
    }

    String layerNorm(String prefix, LayerNormParams p, String x) {
      int h = c.hidden();
      addInit(p.gammaName(), p.gamma(), h);
      addInit(p.betaName(), p.beta(), h);
      String mean = g.node("ReduceMean", prefix + "/ReduceMean", List.of(x), ints("axes", -1));
      String centered = g.node("Sub", prefix + "/Sub", List.of(x, mean));
      String two = g.constantScalar(prefix + "/Constant", 2.0f);
      String sq = g.node("Pow", prefix + "/Pow", List.of(centered, two));
      String var = g.node("ReduceMean", prefix + "/ReduceMean_1", List.of(sq), ints("axes", -1));
      String eps = g.constantScalar(prefix + "/Constant_1", 1e-12f);
      String ve = g.node("Add", prefix + "/Add", List.of(var, eps));
      String std = g.node("Sqrt", prefix + "/Sqrt", List.of(ve));
      String norm = g.node("Div", prefix + "/Div", List.of(centered, std));
      String scaled = g.node("Mul", prefix + "/Mul", List.of(norm, p.gammaName()));
      return g.node("Add", prefix + "/Add_1", List.of(scaled, p.betaName()));
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
      String m = mask(unsqueeze(p + "/Unsqueeze", "attention_mask", -1));
      m = mask(g.node("Cast", p + "/Cast", List.of(m), intAttr("to", TensorProto.DataType.FLOAT_VALUE)));
      String weighted = g.node("Mul", p + "/Mul", List.of(x, m));
      String sum = reduceSum(p + "/ReduceSum", weighted, 1);
      String count = mask(reduceSum(p + "/ReduceSum_1", m, 1));
      String minCount = g.constantScalar(p + "/Constant", 1e-9f);
      count = mask(g.node("Max", p + "/Max", List.of(count, minCount)));
      String pooled = g.node("Div", p + "/Div", List.of(sum, count));
      return gemm("/classifier/Gemm", "classifier", pooled, c.hidden(), c.labels());
    }

    /**
     * DistilBERT's and RoBERTa's heads: the first token's hidden state (Gather axis 1), a dense
     * layer with Relu (DistilBERT's pre_classifier) or Tanh (RoBERTa's dense), then the output.
     */
    String firstTokenHead(String x) {
      boolean distil = e == Export.DISTILBERT;
      String zero = g.constantInt64("/Constant_head", new long[] {0});
      String first = g.node("Gather", "/Gather_first_token", List.of(x, zero), intAttr("axis", 1));
      String dense = distil ? "pre_classifier" : "classifier.dense";
      String y = gemm("/" + dense.replace('.', '/') + "/Gemm", dense, first, c.hidden(), c.hidden());
      y = g.node(distil ? "Relu" : "Tanh", distil ? "/Relu" : "/classifier/Tanh", List.of(y));
      String out = distil ? "classifier" : "classifier.out_proj";
      return gemm("/" + out.replace('.', '/') + "/Gemm", out, y, c.hidden(), c.labels());
    }

    /** Gemm(x, W[out, in]^T, b) as torch exports a Linear on a 2-D input. */
    String gemm(String name, String param, String x, int in, int out) {
      g.graph().addInitializer(gaussian(param + ".weight", 0.25, out, in));
      g.graph().addInitializer(gaussian(param + ".bias", 0.05, out));
      return g.node("Gemm", name, List.of(x, param + ".weight", param + ".bias"),
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
      long n = 1;
      for (long d : dims) {
        n *= d;
      }
      return floatTensor(name, gaussianData(std, n), dims);
    }

    float[] gaussianData(double std, long n) {
      float[] v = new float[(int) n];
      for (int i = 0; i < n; i++) {
        v[i] = (float) (std * rnd.nextGaussian());
      }
      return v;
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
