package io.quantbeam.pipelines;

import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.Validation;

/** Which registry and model: shared by {@code drift} and {@code registry}. */
public interface ModelRegistryOptions extends PipelineOptions {
  @Description("The model registry folder (holds <modelName>/v<N>/ and <modelName>/current)")
  @Validation.Required
  String getRegistry();

  void setRegistry(String value);

  @Description("The model's name in the registry")
  @Validation.Required
  String getModelName();

  void setModelName(String value);
}
