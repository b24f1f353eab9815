package io.quantbeam.core.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.testing.MiniLm;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TextTokenizerTest {

  private static final long CLS = 101;
  private static final long SEP = 102;

  private static TextTokenizer tok;

  @BeforeAll
  static void open() {
    tok = TextTokenizer.fromFile(MiniLm.tokenizer(), TextTokenizer.DEFAULT_MAX_LENGTH);
  }

  @AfterAll
  static void close() {
    tok.close();
  }

  @Test
  void addsClsAndSepAroundTheText() {
    assertEquals(List.of("[CLS]", "hello", "world", "[SEP]"), tok.tokens("Hello world"));
    EncodedBatch b = tok.encode(List.of("hello world"));
    assertEquals(1, b.batchSize());
    assertEquals(4, b.seqLen());
    assertEquals(CLS, b.inputIds()[0]);
    assertEquals(SEP, b.inputIds()[3]);
    assertArrayEquals(new long[] {1, 1, 1, 1}, b.attentionMask());
    assertArrayEquals(new long[] {0, 0, 0, 0}, b.tokenTypeIds());
    assertEquals(0, b.truncated());
    assertEquals(4, b.realTokens());
  }

  @Test
  void padsToTheLongestTextOfTheBatchNotToMaxLength() {
    String shortText = "fine";
    String longText = "a much longer sentence , with quite a few more words in it .";
    EncodedBatch b = tok.encode(List.of(shortText, longText, ""));
    int longLen = tok.tokens(longText).size();
    assertEquals(3, b.batchSize());
    assertEquals(longLen, b.seqLen(), "pads to the longest row");
    assertTrue(b.seqLen() < TextTokenizer.DEFAULT_MAX_LENGTH);
    assertEquals(3, b.length(0));
    assertEquals(longLen, b.length(1));
    assertEquals(2, b.length(2), "empty text is [CLS] [SEP]");
    assertEquals(3 + longLen + 2, b.realTokens());
    int s = b.seqLen();
    // row 0: [CLS] fine [SEP] then padding (id 0, mask 0)
    assertEquals(CLS, b.inputIds()[0]);
    assertEquals(SEP, b.inputIds()[2]);
    for (int t = 3; t < s; t++) {
      assertEquals(0L, b.inputIds()[t]);
      assertEquals(0L, b.attentionMask()[t]);
      assertEquals(0L, b.tokenTypeIds()[t]);
    }
    // row 2 ([CLS] [SEP]) sits at offset 2*s
    assertEquals(CLS, b.inputIds()[2 * s]);
    assertEquals(SEP, b.inputIds()[2 * s + 1]);
    assertEquals(0L, b.attentionMask()[2 * s + 2]);
    // a row's ids do not depend on what else is in the batch
    EncodedBatch alone = tok.encode(List.of(longText));
    assertArrayEquals(alone.inputIds(), Arrays.copyOfRange(b.inputIds(), s, 2 * s));
    assertEquals(0.0, alone.paddingFraction());
  }

  @Test
  void truncatesAtMaxLengthKeepingSpecialTokensAndCountsIt() {
    String longText = "one two three four five six seven eight nine ten eleven twelve";
    try (TextTokenizer small = TextTokenizer.fromFile(MiniLm.tokenizer(), 8)) {
      assertEquals(8, small.maxLength());
      EncodedBatch b = small.encode(List.of(longText, "short one", "exactly six words here now ok"));
      assertEquals(8, b.seqLen());
      assertEquals(1, b.truncated(), "only the first text is longer than 8 tokens");
      assertEquals(List.of("[CLS]", "one", "two", "three", "four", "five", "six", "[SEP]"),
          small.tokens(longText));
      assertEquals(CLS, b.inputIds()[0]);
      assertEquals(SEP, b.inputIds()[7]);
      assertEquals(8, b.length(0));
      assertEquals(4, b.length(1));
      assertEquals(8, b.length(2), "6 words + 2 special tokens fit exactly: not truncated");
      assertEquals(20, b.realTokens());
    }
    // default length: a 300-word text is cut to 128
    String veryLong = String.join(" ", java.util.Collections.nCopies(300, "word"));
    EncodedBatch b = tok.encode(List.of(veryLong, "x"));
    assertEquals(128, b.seqLen());
    assertEquals(1, b.truncated());
    assertEquals(SEP, b.inputIds()[127]);
  }

  @Test
  void aTokenizerFromBytesEncodesAsTheFileDoes() throws Exception {
    try (TextTokenizer fromBytes = TextTokenizer.fromBytes(Files.readAllBytes(MiniLm.tokenizer()),
        "hdfs://nn/tokenizer.json", TextTokenizer.DEFAULT_MAX_LENGTH)) {
      List<String> texts = List.of("hello world", "a rather longer sentence, with punctuation!");
      EncodedBatch a = tok.encode(texts);
      EncodedBatch b = fromBytes.encode(texts);
      assertArrayEquals(a.inputIds(), b.inputIds());
      assertArrayEquals(a.attentionMask(), b.attentionMask());
      assertArrayEquals(a.tokenTypeIds(), b.tokenTypeIds());
      assertEquals("hdfs://nn/tokenizer.json", fromBytes.source());
    }
    QuantbeamException e = assertThrows(QuantbeamException.class, () -> TextTokenizer.fromBytes(
        "{not json".getBytes(StandardCharsets.UTF_8), "hdfs://nn/t.json", 128));
    assertTrue(e.getMessage().contains("hdfs://nn/t.json is not valid JSON"), e.getMessage());
  }

  @Test
  void missingFileIsAClearError(@TempDir Path dir) {
    Path missing = dir.resolve("no-such-tokenizer.json");
    QuantbeamException e = assertThrows(QuantbeamException.class, () -> TextTokenizer.fromFile(missing, 128));
    assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("not found"), e.getMessage());
  }

  @Test
  void unparsableFilesAreClearErrors(@TempDir Path dir) throws Exception {
    Path garbage = dir.resolve("garbage.json");
    Files.writeString(garbage, "{ this is not json", StandardCharsets.UTF_8);
    QuantbeamException e1 = assertThrows(QuantbeamException.class, () -> TextTokenizer.fromFile(garbage, 128));
    assertTrue(e1.getMessage().contains(garbage.toString()), e1.getMessage());

    Path notTokenizer = dir.resolve("config.json");
    Files.writeString(notTokenizer, "{\"hidden_size\": 384}", StandardCharsets.UTF_8);
    QuantbeamException e2 = assertThrows(QuantbeamException.class, () -> TextTokenizer.fromFile(notTokenizer, 128));
    assertTrue(e2.getMessage().contains(notTokenizer.toString()), e2.getMessage());

    Path badModel = dir.resolve("broken-tokenizer.json");
    Files.writeString(badModel, "{\"version\":\"1.0\",\"model\":{\"type\":\"NoSuchModel\"}}", StandardCharsets.UTF_8);
    QuantbeamException e3 = assertThrows(QuantbeamException.class, () -> TextTokenizer.fromFile(badModel, 128));
    assertTrue(e3.getMessage().contains(badModel.toString()), e3.getMessage());

    assertThrows(QuantbeamException.class, () -> TextTokenizer.fromFile(dir, 128), "a folder is not a file");
    assertThrows(QuantbeamException.class, () -> TextTokenizer.fromFile(MiniLm.tokenizer(), 1));
  }

  @Test
  void rejectsEmptyAndNullInput() {
    assertThrows(IllegalArgumentException.class, () -> tok.encode(List.of()));
    assertThrows(IllegalArgumentException.class, () -> tok.encode(Arrays.asList("a", null)));
  }
}
