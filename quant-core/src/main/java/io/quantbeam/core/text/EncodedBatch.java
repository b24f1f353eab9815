package io.quantbeam.core.text;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import io.quantbeam.core.QuantbeamException;
import java.nio.LongBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A tokenised batch, padded to its longest sequence. All three arrays are row-major
 * {@code [batchSize * seqLen]}; padding positions carry the pad id, attention mask 0 and token type 0.
 *
 * <p>The arrays are shared, not copied: treat them as read-only. (Being a record over arrays,
 * {@code equals} compares array identity, not contents.)
 *
 * @param batchSize     number of texts (rows)
 * @param seqLen        length of the longest encoded text in this batch, special tokens included
 * @param inputIds      token ids
 * @param attentionMask 1 for real tokens (special tokens included), 0 for padding
 * @param tokenTypeIds  segment ids (0 for single-sentence input)
 * @param truncated     how many texts were cut at the tokenizer's maximum length
 * @param realTokens    number of non-padding positions, i.e. the sum of the attention mask
 */
public record EncodedBatch(
    int batchSize,
    int seqLen,
    long[] inputIds,
    long[] attentionMask,
    long[] tokenTypeIds,
    int truncated,
    long realTokens) {

  /** Model input name for token ids. */
  public static final String INPUT_IDS = "input_ids";
  /** Model input name for the attention mask. */
  public static final String ATTENTION_MASK = "attention_mask";
  /** Model input name for segment ids. */
  public static final String TOKEN_TYPE_IDS = "token_type_ids";

  public EncodedBatch {
    if (batchSize < 0 || seqLen < 0) {
      throw new IllegalArgumentException("negative shape [" + batchSize + ", " + seqLen + "]");
    }
    long n = (long) batchSize * seqLen;
    if (inputIds.length != n || attentionMask.length != n || tokenTypeIds.length != n) {
      throw new IllegalArgumentException(
          "arrays must hold batchSize*seqLen = " + n + " values; got input_ids " + inputIds.length
              + ", attention_mask " + attentionMask.length + ", token_type_ids " + tokenTypeIds.length);
    }
    if (truncated < 0 || truncated > batchSize || realTokens < 0 || realTokens > n) {
      throw new IllegalArgumentException("inconsistent counts: truncated " + truncated
          + ", realTokens " + realTokens + " for shape [" + batchSize + ", " + seqLen + "]");
    }
  }

  /** Number of real (attention mask 1) tokens in row {@code row}. */
  public int length(int row) {
    if (row < 0 || row >= batchSize) {
      throw new IndexOutOfBoundsException("row " + row + " of " + batchSize);
    }
    int len = 0;
    for (int t = 0, base = row * seqLen; t < seqLen; t++) {
      len += (int) attentionMask[base + t];
    }
    return len;
  }

  /** Fraction of the {@code batchSize * seqLen} positions that are padding (0 for an empty batch). */
  public double paddingFraction() {
    long n = (long) batchSize * seqLen;
    return n == 0 ? 0.0 : (double) (n - realTokens) / n;
  }

  /**
   * Creates one int64 tensor of shape {@code [batchSize, seqLen]} for each name the model declares
   * among {@value #INPUT_IDS}, {@value #ATTENTION_MASK} and {@value #TOKEN_TYPE_IDS}.
   *
   * <p>The tensors hold native memory: <b>the caller must close them</b>, for example
   * {@code try { session.run(inputs) ... } finally { OnnxValue.close(inputs); }}.
   *
   * @param env             the ORT environment
   * @param modelInputNames the names of the model's inputs ({@code session.getInputNames()})
   * @return a map in the order of {@code modelInputNames}' iteration
   * @throws QuantbeamException if the model declares an input this batch cannot feed, or no input at all
   */
  public Map<String, OnnxTensor> toOnnxInputs(OrtEnvironment env, Set<String> modelInputNames) {
    if (modelInputNames == null || modelInputNames.isEmpty()) {
      throw new QuantbeamException("The model declares no inputs; a text model needs at least "
          + INPUT_IDS + ". Check that the right ONNX file was given.");
    }
    if (batchSize == 0) {
      throw new QuantbeamException("Cannot build model inputs from an empty batch; pass at least one text.");
    }
    for (String name : modelInputNames) {
      if (!INPUT_IDS.equals(name) && !ATTENTION_MASK.equals(name) && !TOKEN_TYPE_IDS.equals(name)) {
        throw new QuantbeamException("The model declares input '" + name + "', which a tokenised text batch "
            + "cannot feed. Model inputs: " + new TreeSet<>(modelInputNames) + "; supported: ["
            + INPUT_IDS + ", " + ATTENTION_MASK + ", " + TOKEN_TYPE_IDS + "]. Export the model with "
            + "BERT-style inputs only (e.g. without past key values or position ids).");
      }
    }
    long[] shape = {batchSize, seqLen};
    Map<String, OnnxTensor> out = new LinkedHashMap<>();
    try {
      for (String name : modelInputNames) {
        long[] data = switch (name) {
          case INPUT_IDS -> inputIds;
          case ATTENTION_MASK -> attentionMask;
          default -> tokenTypeIds;
        };
        out.put(name, OnnxTensor.createTensor(env, LongBuffer.wrap(data), shape));
      }
      return out;
    } catch (OrtException | RuntimeException e) {
      OnnxValue.close(out);
      if (e instanceof QuantbeamException q) {
        throw q;
      }
      throw new QuantbeamException("ONNX Runtime could not create int64 input tensors of shape ["
          + batchSize + ", " + seqLen + "]: " + e.getMessage(), e);
    }
  }
}
