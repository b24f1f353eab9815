package io.quantbeam.pipelines;

import com.fasterxml.jackson.annotation.JsonCreator;
import io.quantbeam.core.EnumNames;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.Validation;

/** Options of {@code quantbeam drift}. */
public interface DriftOptions extends ModelRegistryOptions {
  @Description("The production sample: a Parquet file or file pattern with a text column")
  @Validation.Required
  String getProductionData();

  void setProductionData(String value);

  @Description("The column holding the text in the production sample and the holdout")
  @Default.String("text")
  String getTextColumn();

  void setTextColumn(String value);

  @Description("Observe at most this many production texts (0: all), those with the smallest"
      + " text hash")
  @Default.Integer(0)
  int getMaxExamples();

  void setMaxExamples(int value);

  @Description("A labelled local Parquet file to judge champion and challenger on (optional;"
      + " without it they are judged by agreement with the float model on the production sample)")
  String getHoldoutData();

  void setHoldoutData(String value);

  @Description("The holdout's integer label column (default: label)")
  String getLabelColumn();

  void setLabelColumn(String value);

  @Description("Judge on at most this many holdout (or production) texts (0: all)")
  @Default.Integer(1000)
  int getMaxJudgeExamples();

  void setMaxJudgeExamples(int value);

  @Description("Recalibration policy on drift: window (the production sample alone) or merge"
      + " (the serving table and the production sample's statistics merged exactly)")
  @Default.Enum("WINDOW")
  Policy getPolicy();

  void setPolicy(Policy value);

  /** How a challenger is calibrated on drift. */
  enum Policy {
    WINDOW, MERGE;

    /** Any case; also how Beam reads {@code --policy}. */
    @JsonCreator
    public static Policy of(String name) {
      return EnumNames.parse(Policy.class, name, "policy");
    }
  }

  @Description("Drift when the mean PSI over calibrated tensors reaches this (MiniLM: same-domain"
      + " text about 0.003, IMDB reviews vs SST-2 phrases 0.05)")
  @Default.Double(0.02)
  double getPsiThreshold();

  void setPsiThreshold(double value);

  @Description("Drift when the quantized ranges clip this share of production values on average")
  @Default.Double(0.01)
  double getClipRateThreshold();

  void setClipRateThreshold(double value);

  @Description("Drift when this share of production tokens is the tokenizer's unknown token")
  @Default.Double(0.05)
  double getUnknownTokenRateThreshold();

  void setUnknownTokenRateThreshold(double value);

  @Description("Promote the challenger only if its score (accuracy, else agreement) is at least"
      + " the champion's plus this margin (0: not worse)")
  @Default.Double(0.0)
  double getPromotionMargin();

  void setPromotionMargin(double value);

  @Description("ONNX Runtime intra-op threads per worker JVM (0: ORT's default)")
  @Default.Integer(0)
  int getIntraOpThreads();

  void setIntraOpThreads(int value);

  @Description("Folder for drift.json (the drift report) and the challenger while it is judged")
  @Validation.Required
  String getOutput();

  void setOutput(String value);
}
