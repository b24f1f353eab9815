package io.quantbeam.core.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quantbeam.core.QuantbeamException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A Hugging Face {@code tokenizer.json} tokenizer (through DJL) that turns texts into BERT-style model
 * inputs, padded per batch.
 *
 * <p>What it does, independent of the padding/truncation settings stored in the JSON file:
 * special tokens from the file's post-processor are added (e.g. {@code [CLS] ... [SEP]}); a text longer
 * than {@code maxLength} tokens is truncated to {@code maxLength}, keeping the special tokens; the native
 * tokenizer does no padding at all &mdash; {@link #encode(List)} pads every row to the longest row of that
 * call, with the file's pad id. No {@code tokenizer_config.json} is read and nothing is downloaded: DJL is
 * put into offline mode and its usage telemetry is switched off before the native library is first used
 * (unless the JVM was started with those properties set otherwise).
 *
 * <p>Encoding is safe to call from several threads; {@link #close()} must not race with it.
 */
public final class TextTokenizer implements AutoCloseable {

  /** The sequence length callers should use unless they have a reason not to. */
  public static final int DEFAULT_MAX_LENGTH = 128;

  private final HuggingFaceTokenizer tokenizer;
  private final long unknownId;
  private final String source;
  private final int maxLength;
  private final long padId;

  private TextTokenizer(HuggingFaceTokenizer tokenizer, String source, int maxLength, long padId,
      long unknownId) {
    this.unknownId = unknownId;
    this.tokenizer = tokenizer;
    this.source = source;
    this.maxLength = maxLength;
    this.padId = padId;
  }

  /**
   * Loads a {@code tokenizer.json}.
   *
   * @param tokenizerJson the Hugging Face fast-tokenizer file
   * @param maxLength     maximum encoded length, special tokens included (at least 2)
   * @throws QuantbeamException if the file is missing, unreadable or not a tokenizer the library accepts
   */
  public static TextTokenizer fromFile(Path tokenizerJson, int maxLength) {
    if (maxLength < 2) {
      throw new QuantbeamException("maxLength must be at least 2 (room for [CLS] and [SEP]), got " + maxLength
          + "; the usual value for BERT-family models is " + DEFAULT_MAX_LENGTH + ".");
    }
    if (tokenizerJson == null || !Files.isRegularFile(tokenizerJson)) {
      throw new QuantbeamException("Tokenizer file not found: " + tokenizerJson
          + ". Pass the model's Hugging Face tokenizer.json (a file, not a folder).");
    }
    byte[] json;
    try {
      json = Files.readAllBytes(tokenizerJson);
    } catch (IOException e) {
      throw new QuantbeamException("Cannot read tokenizer file " + tokenizerJson + ": " + e, e);
    }
    return fromBytes(json, tokenizerJson.toString(), maxLength);
  }

  /**
   * {@link #fromFile} for a {@code tokenizer.json} held in memory (read from a shared file system).
   *
   * @param tokenizerJson where the bytes came from, for messages
   */
  public static TextTokenizer fromBytes(byte[] json, String tokenizerJson, int maxLength) {
    if (maxLength < 2) {
      throw new QuantbeamException("maxLength must be at least 2 (room for [CLS] and [SEP]), got " + maxLength
          + "; the usual value for BERT-family models is " + DEFAULT_MAX_LENGTH + ".");
    }
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(json);
    } catch (IOException e) {
      throw new QuantbeamException("Tokenizer file " + tokenizerJson + " is not valid JSON (" + e.getMessage()
          + "). Pass the model's Hugging Face tokenizer.json.", e);
    }
    if (root == null || !root.isObject() || !root.has("model")) {
      throw new QuantbeamException("Tokenizer file " + tokenizerJson + " is JSON but not a Hugging Face "
          + "tokenizer (no \"model\" section). Pass the model's tokenizer.json, not its config.json or vocab.");
    }
    long padId = padIdOf(root);

    disableDjlNetworkAccess();
    Map<String, String> options = new HashMap<>();
    options.put("addSpecialTokens", "true");
    options.put("withOverflowingTokens", "false");
    options.put("truncation", "true"); // longest_first; for a single text: keep the special tokens, cut the text
    options.put("padding", "false");
    options.put("maxLength", Integer.toString(maxLength));
    options.put("modelMaxLength", Integer.toString(maxLength));
    options.put("stride", "0");
    options.put("doLowerCase", "false"); // the file's own normalizer decides
    HuggingFaceTokenizer tok;
    try (InputStream in = new java.io.ByteArrayInputStream(json)) {
      tok = HuggingFaceTokenizer.newInstance(in, options);
    } catch (IOException | RuntimeException e) {
      throw new QuantbeamException("Could not load tokenizer " + tokenizerJson + ": " + e.getMessage()
          + ". Pass a Hugging Face tokenizer.json written by the tokenizers library.", e);
    }
    return new TextTokenizer(tok, tokenizerJson, maxLength, padId, unknownIdOf(root));
  }

  /** Sets DJL's offline and telemetry switches unless the user already chose. */
  private static void disableDjlNetworkAccess() {
    if (System.getProperty("ai.djl.offline") == null && System.getenv("DJL_OFFLINE") == null) {
      System.setProperty("ai.djl.offline", "true");
    }
    if (System.getProperty("OPT_OUT_TRACKING") == null && System.getenv("OPT_OUT_TRACKING") == null) {
      System.setProperty("OPT_OUT_TRACKING", "true");
    }
  }

  /** The pad id declared by the file: padding.pad_id, else the [PAD]/&lt;pad&gt; added token, else 0. */
  private static long padIdOf(JsonNode root) {
    JsonNode padding = root.path("padding");
    if (padding.path("pad_id").isIntegralNumber()) {
      return padding.path("pad_id").asLong();
    }
    for (JsonNode t : root.path("added_tokens")) {
      String content = t.path("content").asText("");
      if (("[PAD]".equals(content) || "<pad>".equals(content)) && t.path("id").isIntegralNumber()) {
        return t.path("id").asLong();
      }
    }
    return 0L;
  }

  /** The id of the model's unknown token (model.unk_token in its vocabulary), or -1 if none. */
  private static long unknownIdOf(JsonNode root) {
    String unk = root.path("model").path("unk_token").asText("");
    if (unk.isEmpty()) {
      return -1L;
    }
    JsonNode vocab = root.path("model").path("vocab");
    if (vocab.path(unk).isIntegralNumber()) {
      return vocab.path(unk).asLong();
    }
    for (JsonNode t : root.path("added_tokens")) {
      if (unk.equals(t.path("content").asText()) && t.path("id").isIntegralNumber()) {
        return t.path("id").asLong();
      }
    }
    return -1L;
  }

  /** The unknown token's id, or -1 when the tokenizer declares none. */
  public long unknownId() {
    return unknownId;
  }

  /** Real (unpadded) positions of {@code batch} holding the unknown token; 0 if there is none. */
  public long unknownTokens(EncodedBatch batch) {
    if (unknownId < 0) {
      return 0;
    }
    long n = 0;
    long[] ids = batch.inputIds();
    long[] mask = batch.attentionMask();
    for (int i = 0; i < ids.length; i++) {
      if (mask[i] != 0 && ids[i] == unknownId) {
        n++;
      }
    }
    return n;
  }

  /** Maximum encoded length, special tokens included. */
  public int maxLength() {
    return maxLength;
  }

  /** The id written at padding positions. */
  public long padId() {
    return padId;
  }

  /** The file this tokenizer was loaded from (a path or a file system URI). */
  public String source() {
    return source;
  }

  /** The tokens of one text as the model sees them (special tokens included, truncated, not padded). */
  public List<String> tokens(String text) {
    return List.of(tokenizer.encode(text).getTokens());
  }

  /**
   * Encodes texts into one batch padded to its longest row (not to {@code maxLength}).
   *
   * @param texts at least one text, none null
   */
  public EncodedBatch encode(List<String> texts) {
    if (texts == null || texts.isEmpty()) {
      throw new IllegalArgumentException("encode needs at least one text");
    }
    for (int i = 0; i < texts.size(); i++) {
      if (texts.get(i) == null) {
        throw new IllegalArgumentException("text " + i + " is null");
      }
    }
    Encoding[] enc = tokenizer.batchEncode(texts);
    int batch = enc.length;
    int seqLen = 0;
    int truncated = 0;
    for (Encoding e : enc) {
      seqLen = Math.max(seqLen, e.getIds().length);
      if (e.exceedMaxLength()) {
        truncated++;
      }
    }
    if (seqLen > maxLength) { // would mean the native side ignored our truncation setting
      throw new IllegalStateException("tokenizer produced " + seqLen + " tokens, more than maxLength " + maxLength);
    }
    int n = batch * seqLen;
    long[] ids = new long[n];
    long[] mask = new long[n];
    long[] types = new long[n];
    java.util.Arrays.fill(ids, padId);
    long real = 0;
    for (int r = 0; r < batch; r++) {
      long[] rowIds = enc[r].getIds();
      long[] rowTypes = enc[r].getTypeIds();
      int base = r * seqLen;
      System.arraycopy(rowIds, 0, ids, base, rowIds.length);
      System.arraycopy(rowTypes, 0, types, base, rowTypes.length);
      java.util.Arrays.fill(mask, base, base + rowIds.length, 1L);
      real += rowIds.length;
    }
    return new EncodedBatch(batch, seqLen, ids, mask, types, truncated, real);
  }

  @Override
  public void close() {
    tokenizer.close();
  }

  @Override
  public String toString() {
    return "TextTokenizer[" + source + ", maxLength=" + maxLength + "]";
  }
}
