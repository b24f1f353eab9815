package io.quantbeam.transforms;

import ai.onnx.proto.OnnxMl.ModelProto;
import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.quant.QdqQuantizer;
import io.quantbeam.core.runtime.ResourcePool;
import io.quantbeam.core.text.TextTokenizer;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.Serializable;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which {@link ResourcePool} a transform's DoFns lease their ONNX Runtime sessions, tokenizers and
 * parsed models from. A transform holds this small serializable reference, never a pool: the pool
 * is resolved by name on the worker, once per JVM, so every DoFn instance and thread of a worker
 * shares one pool whatever runner placed them there.
 *
 * <p>{@link #worker(Duration)} is the pool of the worker JVM, created on its first use. A process
 * that embeds Quantbeam with its own lifetime rules (a service, a benchmark, a test) makes a pool,
 * passes {@link #of(ResourcePool)} to the transforms, and closes the pool when it is done.
 */
public record SessionPool(String name, long idleTimeoutSeconds) implements Serializable {
  /** The name of the worker JVM's own pool. */
  public static final String WORKER = "worker";
  /** How long the worker pool keeps an idle session: a minute, unless the job says otherwise. */
  public static final long DEFAULT_IDLE_TIMEOUT_SECONDS = 60;

  /** Pools of this JVM by name: the worker pool and those registered by {@link #of}. */
  private static final Map<String, ResourcePool> POOLS = new ConcurrentHashMap<>();

  /** The worker JVM's pool, which closes sessions idle for {@code idleTimeout}. */
  public static SessionPool worker(Duration idleTimeout) {
    return new SessionPool(WORKER, Math.max(1, idleTimeout.toSeconds()));
  }

  /** The worker pool with the default timeout. */
  public static SessionPool worker() {
    return new SessionPool(WORKER, DEFAULT_IDLE_TIMEOUT_SECONDS);
  }

  /**
   * A reference to a pool the caller made and will close; valid in this JVM only (DirectRunner),
   * since a remote worker has no such pool.
   */
  public static SessionPool of(ResourcePool pool) {
    String name = "pool-" + UUID.randomUUID();
    POOLS.put(name, pool);
    return new SessionPool(name, pool.settings().idleTimeout().toSeconds());
  }

  /** The pool itself, on the worker. */
  public ResourcePool pool() {
    if (WORKER.equals(name)) {
      return POOLS.computeIfAbsent(WORKER, n -> new ResourcePool(new ResourcePool.Settings(
          Duration.ofSeconds(idleTimeoutSeconds), ResourcePool.Settings.defaults().maxIdle())));
    }
    ResourcePool pool = POOLS.get(name);
    if (pool == null) {
      throw new IllegalStateException("No resource pool '" + name + "' in this JVM: a pool made"
          + " with SessionPool.of(...) lives in the JVM that made it; on a cluster use"
          + " SessionPool.worker()");
    }
    return pool;
  }

  /**
   * This JVM's tokenizer for the file {@code path} (any {@link SharedFiles} spec), truncating at
   * {@code maxLength} tokens.
   */
  public ResourcePool.Lease<TextTokenizer> tokenizer(String path, int maxLength) {
    return pool().lease("tokenizer\u0000" + fileKey(path) + "\u0000" + maxLength,
        () -> WorkerFiles.loadTokenizer(path, maxLength));
  }

  /** This JVM's copy of the float model at {@code path}, prepared for quantization. */
  public ResourcePool.Lease<ModelProto> preparedModel(String path) {
    return pool().lease("prepared-model\u0000" + fileKey(path),
        () -> QdqQuantizer.prepare(WorkerFiles.loadModel(path)), m -> { });
  }

  /**
   * A file's resource id, size and modification time as its file system reports them (Beam's
   * {@code FileSystems} metadata): a file rewritten in place is a new key, so a pool never hands
   * out a session on the previous content.
   */
  public static String fileKey(String path) {
    try {
      return SharedFiles.identity(path);
    } catch (FileNotFoundException e) {
      throw new QuantbeamException(path + " does not exist: check the path."
          + WorkerFiles.VISIBILITY_HINT, e);
    } catch (IOException e) {
      throw new QuantbeamException("Cannot read " + path + ": " + e + "."
          + WorkerFiles.VISIBILITY_HINT, e);
    }
  }
}
