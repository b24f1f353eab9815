package io.quantbeam.core.runtime;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.text.EncodedBatch;
import io.quantbeam.core.text.TextTokenizer;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Sentence embeddings from a BERT-style encoder, the sentence-transformers all-MiniLM recipe: run the model,
 * take its token states {@code last_hidden_state [B, S, H]}, average them over the real tokens (attention-mask
 * weighted mean), then scale each vector to unit L2 length.
 *
 * <p>The model must take only int64 inputs among input_ids / attention_mask / token_type_ids, and its token
 * states are its first float output of rank 3. Texts are batched in input order; each batch is padded only to
 * its own longest text, and padding does not change the embeddings (beyond float rounding).
 *
 * <p>Not thread-safe for {@link #close()}; {@link #embed} may be called from several threads (ORT sessions
 * and the tokenizer allow concurrent use), though one embedder per thread is simpler to reason about.
 */
public final class SentenceEmbedder implements AutoCloseable {

  private final OrtSession session;
  private final TextTokenizer tokenizer;
  private final OrtEnvironment env = OrtEnvironment.getEnvironment();
  private final Set<String> inputNames;
  private final String outputName;

  /**
   * Wraps an open session and tokenizer; the embedder takes ownership and closes both in {@link #close()}.
   *
   * @throws QuantbeamException if the model's inputs or outputs do not fit (message lists them)
   */
  public SentenceEmbedder(OrtSession session, TextTokenizer tokenizer) {
    this.session = Objects.requireNonNull(session, "session");
    this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
    try {
      Map<String, NodeInfo> inputs = session.getInputInfo();
      for (Map.Entry<String, NodeInfo> in : inputs.entrySet()) {
        String name = in.getKey();
        boolean known = EncodedBatch.INPUT_IDS.equals(name) || EncodedBatch.ATTENTION_MASK.equals(name)
            || EncodedBatch.TOKEN_TYPE_IDS.equals(name);
        boolean int64 = in.getValue().getInfo() instanceof TensorInfo t && t.type == OnnxJavaType.INT64;
        if (!known || !int64) {
          throw new QuantbeamException("Model input '" + name + "' (" + in.getValue().getInfo() + ") cannot be fed "
              + "from text: expected int64 inputs among input_ids, attention_mask, token_type_ids. Model inputs: "
              + inputs.keySet() + ". Export the encoder with those inputs only.");
        }
      }
      this.inputNames = Set.copyOf(inputs.keySet());
      String found = null;
      for (Map.Entry<String, NodeInfo> out : session.getOutputInfo().entrySet()) {
        if (out.getValue().getInfo() instanceof TensorInfo t && t.type == OnnxJavaType.FLOAT
            && t.getShape().length == 3) {
          found = out.getKey();
          break;
        }
      }
      if (found == null) {
        throw new QuantbeamException("The model has no float output of rank 3 (token states [batch, seq, hidden]);"
            + " outputs: " + session.getOutputInfo() + ". Export the encoder with last_hidden_state as an output.");
      }
      this.outputName = found;
    } catch (OrtException e) {
      throw new QuantbeamException("Could not read the model's inputs/outputs: " + e.getMessage(), e);
    }
  }

  /**
   * Opens model and tokenizer with Quantbeam's standard settings ({@link OrtSessions#open}).
   *
   * @param maxLength tokens per text, special tokens included (usually {@link TextTokenizer#DEFAULT_MAX_LENGTH})
   */
  public static SentenceEmbedder open(Path model, Path tokenizerJson, int intraOpThreads, int maxLength) {
    TextTokenizer tok = TextTokenizer.fromFile(tokenizerJson, maxLength);
    OrtSession session;
    try {
      session = OrtSessions.open(model, intraOpThreads);
    } catch (RuntimeException e) {
      tok.close();
      throw e;
    }
    try {
      return new SentenceEmbedder(session, tok);
    } catch (RuntimeException e) {
      tok.close();
      closeSession(session);
      throw e;
    }
  }

  /** Name of the model output used as token states. */
  public String outputName() {
    return outputName;
  }

  /** The tokenizer (owned by this embedder). */
  public TextTokenizer tokenizer() {
    return tokenizer;
  }

  /**
   * Embeds texts, {@code batchSize} at a time, in input order.
   *
   * @return one unit-length vector per text, same order
   */
  public float[][] embed(List<String> texts, int batchSize) {
    if (batchSize < 1) {
      throw new IllegalArgumentException("batchSize must be positive, got " + batchSize);
    }
    float[][] out = new float[texts.size()][];
    for (int from = 0; from < texts.size(); from += batchSize) {
      int to = Math.min(texts.size(), from + batchSize);
      float[][] part = embed(tokenizer.encode(new ArrayList<>(texts.subList(from, to))));
      System.arraycopy(part, 0, out, from, part.length);
    }
    return out;
  }

  /** Embeds one already-encoded batch (unit-length vectors, row order). */
  public float[][] embed(EncodedBatch batch) {
    Map<String, OnnxTensor> inputs = batch.toOnnxInputs(env, inputNames);
    try (OrtSession.Result result = session.run(inputs, Set.of(outputName))) {
      OnnxValue value = result.get(0);
      if (!(value instanceof OnnxTensor hidden)) {
        throw new QuantbeamException("Model output '" + outputName + "' is not a tensor.");
      }
      long[] shape = hidden.getInfo().getShape();
      if (shape.length != 3 || shape[0] != batch.batchSize() || shape[1] != batch.seqLen()) {
        throw new QuantbeamException("Model output '" + outputName + "' has shape " + Arrays.toString(shape)
            + ", expected [" + batch.batchSize() + ", " + batch.seqLen() + ", hidden]. The model is not a "
            + "token-level encoder; sentence embedding needs last_hidden_state.");
      }
      return meanPoolNormalize(hidden.getFloatBuffer(), batch, (int) shape[2]);
    } catch (OrtException e) {
      throw new QuantbeamException("ONNX Runtime failed on a batch of " + batch.batchSize() + " texts x "
          + batch.seqLen() + " tokens: " + e.getMessage(), e);
    } finally {
      OnnxValue.close(inputs);
    }
  }

  /** Attention-mask-weighted mean over tokens, then L2 normalisation (epsilon 1e-12, as torch's normalize). */
  static float[][] meanPoolNormalize(FloatBuffer hidden, EncodedBatch batch, int hiddenSize) {
    int b = batch.batchSize();
    int s = batch.seqLen();
    long[] mask = batch.attentionMask();
    float[][] out = new float[b][hiddenSize];
    double[] acc = new double[hiddenSize];
    for (int r = 0; r < b; r++) {
      Arrays.fill(acc, 0.0);
      double weight = 0;
      for (int t = 0; t < s; t++) {
        long m = mask[r * s + t];
        if (m == 0) {
          continue;
        }
        weight += m;
        int base = (r * s + t) * hiddenSize;
        for (int h = 0; h < hiddenSize; h++) {
          acc[h] += m * hidden.get(base + h);
        }
      }
      weight = Math.max(weight, 1e-9);
      double norm = 0;
      for (int h = 0; h < hiddenSize; h++) {
        acc[h] /= weight;
        norm += acc[h] * acc[h];
      }
      norm = Math.max(Math.sqrt(norm), 1e-12);
      for (int h = 0; h < hiddenSize; h++) {
        out[r][h] = (float) (acc[h] / norm);
      }
    }
    return out;
  }

  @Override
  public void close() {
    try {
      closeSession(session);
    } finally {
      tokenizer.close();
    }
  }

  private static void closeSession(OrtSession s) {
    try {
      s.close();
    } catch (OrtException e) {
      throw new QuantbeamException("Could not close the ONNX Runtime session: " + e.getMessage(), e);
    }
  }
}
