package io.quantbeam.core.runtime;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Heavy objects shared by the threads of one JVM (ONNX Runtime sessions, tokenizers, parsed
 * models), keyed by what makes them different, opened on the first lease and handed out as
 * {@link Lease}s. A lease is short: one element or one bundle, closed with try-with-resources.
 *
 * <p>An entry no lease holds is idle. The pool itself closes idle entries: at once when more than
 * {@code maxIdle} are idle (least recently used first), and after {@code idleTimeout} on its own
 * daemon thread, which runs only while something is idle. ONNX Runtime frees a session's native
 * memory only on close, so a long-lived worker (a Flink TaskManager that runs job after job)
 * must not keep them; and Beam calls {@code @Teardown} only on a best-effort basis, so closing must
 * not wait for it. An entry in use is never closed, except by {@link #close()} when its last lease
 * ends.
 *
 * <p>Two threads that lease the same absent key open it once: the second waits for the first.
 */
public final class ResourcePool implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ResourcePool.class);

  /** How long an idle entry stays open, and how many idle entries stay open at most. */
  public record Settings(Duration idleTimeout, int maxIdle) {
    public Settings {
      if (idleTimeout.isNegative() || idleTimeout.isZero()) {
        throw new IllegalArgumentException("idleTimeout must be positive, got " + idleTimeout);
      }
      if (maxIdle < 0) {
        throw new IllegalArgumentException("maxIdle must be >= 0, got " + maxIdle);
      }
    }

    /** One minute; about one idle model per core, plus one. */
    public static Settings defaults() {
      return new Settings(Duration.ofSeconds(60),
          Math.max(2, Runtime.getRuntime().availableProcessors() + 1));
    }
  }

  /** What the pool holds and has done: for logs, benchmarks and tests. */
  public record Stats(int open, int leased, long opened, long closed, int peakOpen) {}

  /** One use of an entry; {@link #close()} gives it back (idempotent). */
  public static final class Lease<R> implements AutoCloseable {
    private final ResourcePool pool;
    private final Entry entry;
    private final R resource;
    private boolean released;

    private Lease(ResourcePool pool, Entry entry, R resource) {
      this.pool = pool;
      this.entry = entry;
      this.resource = resource;
    }

    public R get() {
      if (released) {
        throw new IllegalStateException("lease of " + entry.key + " already given back");
      }
      return resource;
    }

    @Override
    public void close() {
      if (!released) {
        released = true;
        pool.release(entry);
      }
    }
  }

  private final class Entry {
    final String key;
    final CompletableFuture<Object> value = new CompletableFuture<>();
    Consumer<Object> closer;
    int leases;
    long idleSinceNanos;

    Entry(String key) {
      this.key = key;
    }
  }

  private final Settings settings;
  private final LongSupplier nanoClock;
  /** Access order: iteration starts at the least recently used entry. Guarded by this. */
  private final Map<String, Entry> entries = new LinkedHashMap<>(16, 0.75f, true);
  private final ScheduledThreadPoolExecutor reaper;
  private ScheduledFuture<?> nextSweep;
  private boolean closed;
  private long opened;
  private long closedCount;
  private int peakOpen;

  public ResourcePool(Settings settings) {
    this(settings, System::nanoTime);
  }

  /** With a clock of its own: tests advance time instead of waiting for it. */
  public ResourcePool(Settings settings, LongSupplier nanoClock) {
    this.settings = settings;
    this.nanoClock = nanoClock;
    this.reaper = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "quantbeam-resource-pool-reaper");
      t.setDaemon(true);
      return t;
    });
    // the thread ends when nothing is idle, so an unused pool holds no thread
    reaper.setKeepAliveTime(1, TimeUnit.SECONDS);
    reaper.allowCoreThreadTimeOut(true);
    reaper.setRemoveOnCancelPolicy(true);
  }

  public Settings settings() {
    return settings;
  }

  /** A lease on an {@link AutoCloseable} resource, which the pool closes when it evicts it. */
  public <R extends AutoCloseable> Lease<R> lease(String key, Supplier<R> open) {
    return lease(key, open, ResourcePool::closeQuietly);
  }

  /**
   * A lease on the resource under {@code key}, opened by {@code open} when absent (outside the
   * pool's lock: opening a session takes seconds). {@code close} frees it when it is evicted. An
   * exception from {@code open} reaches every caller waiting for that key, and the next lease
   * tries again.
   */
  @SuppressWarnings("unchecked")
  public <R> Lease<R> lease(String key, Supplier<R> open, Consumer<? super R> close) {
    Entry entry;
    boolean opener = false;
    synchronized (this) {
      if (closed) {
        throw new IllegalStateException("resource pool is closed");
      }
      entry = entries.get(key);
      if (entry == null) {
        entry = new Entry(key);
        entry.closer = (Consumer<Object>) close;
        entries.put(key, entry);
        opener = true;
      }
      entry.leases++;
    }
    if (opener) {
      try {
        entry.value.complete(open.get());
      } catch (RuntimeException | Error e) {
        entry.value.completeExceptionally(e);
      }
      synchronized (this) {
        if (entry.value.isCompletedExceptionally()) {
          entries.remove(key, entry);
        } else {
          opened++;
          peakOpen = Math.max(peakOpen, entries.size());
        }
      }
    }
    try {
      return new Lease<>(this, entry, (R) entry.value.get());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      giveBack(entry);
      throw new IllegalStateException("interrupted while " + key + " was opening", e);
    } catch (ExecutionException e) {
      giveBack(entry);
      if (e.getCause() instanceof RuntimeException re) {
        throw re;
      }
      if (e.getCause() instanceof Error err) {
        throw err;
      }
      throw new IllegalStateException(e.getCause());
    }
  }

  /** A lease that could not be handed out: only the count goes back. */
  private synchronized void giveBack(Entry entry) {
    entry.leases--;
  }

  private void release(Entry entry) {
    List<Entry> toClose = new ArrayList<>();
    synchronized (this) {
      if (--entry.leases > 0) {
        return;
      }
      entry.idleSinceNanos = nanoClock.getAsLong();
      if (closed) {
        entries.remove(entry.key, entry);
        toClose.add(entry);
      } else {
        evictOverCapacity(toClose);
        scheduleSweep();
      }
    }
    closeAll(toClose);
  }

  /** Moves idle entries, least recently used first, to toClose until at most maxIdle are idle. */
  private void evictOverCapacity(List<Entry> toClose) {
    int idle = (int) entries.values().stream().filter(e -> e.leases == 0).count();
    Iterator<Entry> it = entries.values().iterator();
    while (idle > settings.maxIdle() && it.hasNext()) {
      Entry e = it.next();
      if (e.leases == 0 && e.value.isDone()) {
        it.remove();
        toClose.add(e);
        idle--;
      }
    }
  }

  /** Closes the idle entries whose timeout has passed; the reaper calls it. Returns how many. */
  public int closeExpired() {
    List<Entry> toClose = new ArrayList<>();
    synchronized (this) {
      nextSweep = null;
      long now = nanoClock.getAsLong();
      long timeout = settings.idleTimeout().toNanos();
      entries.values().removeIf(e -> {
        boolean expired = e.leases == 0 && e.value.isDone() && now - e.idleSinceNanos >= timeout;
        if (expired) {
          toClose.add(e);
        }
        return expired;
      });
      scheduleSweep();
    }
    closeAll(toClose);
    if (!toClose.isEmpty()) {
      LOG.info("closed {} resources idle for {} s", toClose.size(),
          settings.idleTimeout().toSeconds());
    }
    return toClose.size();
  }

  /**
   * Closes every idle entry now (none in use is touched): a teardown may call it to free memory
   * early; nothing depends on it. Returns how many were closed.
   */
  public int closeIdle() {
    List<Entry> toClose = new ArrayList<>();
    synchronized (this) {
      entries.values().removeIf(e -> {
        boolean idle = e.leases == 0 && e.value.isDone();
        if (idle) {
          toClose.add(e);
        }
        return idle;
      });
    }
    closeAll(toClose);
    return toClose.size();
  }

  /** With something idle and no sweep pending, one at the oldest idle entry's deadline. */
  private void scheduleSweep() {
    if (closed || nextSweep != null) {
      return;
    }
    long oldest = Long.MAX_VALUE;
    for (Entry e : entries.values()) {
      if (e.leases == 0 && e.value.isDone()) {
        oldest = Math.min(oldest, e.idleSinceNanos);
      }
    }
    if (oldest == Long.MAX_VALUE) {
      return;
    }
    long delay = Math.max(0, oldest + settings.idleTimeout().toNanos() - nanoClock.getAsLong());
    nextSweep = reaper.schedule(this::closeExpired, delay, TimeUnit.NANOSECONDS);
  }

  public synchronized Stats stats() {
    int leased = (int) entries.values().stream().filter(e -> e.leases > 0).count();
    return new Stats(entries.size(), leased, opened, closedCount, peakOpen);
  }

  /** Starts a new peak from the entries open now. */
  public synchronized void resetPeak() {
    peakOpen = entries.size();
  }

  /**
   * Closes every idle entry now and every leased one when its last lease ends; no new lease is
   * handed out.
   */
  @Override
  public void close() {
    synchronized (this) {
      closed = true;
      if (nextSweep != null) {
        nextSweep.cancel(false);
        nextSweep = null;
      }
    }
    closeIdle();
    reaper.shutdown();
  }

  private void closeAll(List<Entry> toClose) {
    for (Entry e : toClose) {
      try {
        e.closer.accept(e.value.join());
      } catch (RuntimeException ex) {
        LOG.warn("closing {} failed: {}", e.key, ex.toString());
      }
    }
    if (!toClose.isEmpty()) {
      synchronized (this) {
        closedCount += toClose.size();
      }
    }
  }

  private static void closeQuietly(AutoCloseable c) {
    try {
      c.close();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
