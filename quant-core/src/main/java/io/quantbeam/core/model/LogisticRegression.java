package io.quantbeam.core.model;

import io.quantbeam.core.QuantbeamException;

/**
 * Binary logistic regression with an L2 penalty, fitted by Newton's method (iteratively reweighted
 * least squares). Deterministic: no random initialisation, no sampling order, so the same
 * embeddings always give the same head.
 */
public final class LogisticRegression {
  /** Weights for the positive class and the bias: p(y=1|x) = sigmoid(w . x + b). */
  public record Model(double[] weights, double bias) {
    public double logit(float[] x) {
      double z = bias;
      for (int i = 0; i < weights.length; i++) {
        z += weights[i] * x[i];
      }
      return z;
    }
  }

  private LogisticRegression() {}

  /**
   * @param x features, one row per example
   * @param y labels 0 or 1
   * @param l2 penalty on the weights (not the bias)
   * @param iterations Newton steps (10-20 are plenty)
   */
  public static Model fit(float[][] x, int[] y, double l2, int iterations) {
    int n = x.length;
    if (n == 0 || n != y.length) {
      throw new QuantbeamException("Need as many labels as examples (and at least one): "
          + n + " examples, " + y.length + " labels");
    }
    int d = x[0].length;
    int p = d + 1; // last coordinate is the bias
    double[] beta = new double[p];
    for (int it = 0; it < iterations; it++) {
      double[] grad = new double[p];
      double[][] hess = new double[p][p];
      for (int i = 0; i < n; i++) {
        if (y[i] != 0 && y[i] != 1) {
          throw new QuantbeamException("Label " + y[i] + " at row " + i + " is not 0 or 1");
        }
        double z = beta[d];
        for (int j = 0; j < d; j++) {
          z += beta[j] * x[i][j];
        }
        double prob = 1 / (1 + Math.exp(-z));
        double r = prob - y[i];
        double w = prob * (1 - prob);
        for (int j = 0; j < p; j++) {
          double xj = j < d ? x[i][j] : 1;
          grad[j] += r * xj;
          double wxj = w * xj;
          for (int k = 0; k <= j; k++) {
            hess[j][k] += wxj * (k < d ? x[i][k] : 1);
          }
        }
      }
      for (int j = 0; j < p; j++) {
        for (int k = 0; k < j; k++) {
          hess[k][j] = hess[j][k];
        }
        if (j < d) {
          grad[j] += l2 * beta[j];
          hess[j][j] += l2;
        } else {
          hess[j][j] += 1e-9; // keeps the system solvable when the data are separable
        }
      }
      double[] step = solve(hess, grad);
      for (int j = 0; j < p; j++) {
        beta[j] -= step[j];
      }
    }
    double[] weights = new double[d];
    System.arraycopy(beta, 0, weights, 0, d);
    return new Model(weights, beta[d]);
  }

  /** Solves a symmetric positive definite system by Cholesky decomposition. */
  static double[] solve(double[][] a, double[] b) {
    int n = b.length;
    double[][] l = new double[n][n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j <= i; j++) {
        double sum = a[i][j];
        for (int k = 0; k < j; k++) {
          sum -= l[i][k] * l[j][k];
        }
        if (i == j) {
          if (sum <= 0) {
            throw new QuantbeamException("Logistic regression: the system is not positive"
                + " definite; increase the L2 penalty.");
          }
          l[i][i] = Math.sqrt(sum);
        } else {
          l[i][j] = sum / l[j][j];
        }
      }
    }
    double[] z = new double[n];
    for (int i = 0; i < n; i++) {
      double sum = b[i];
      for (int k = 0; k < i; k++) {
        sum -= l[i][k] * z[k];
      }
      z[i] = sum / l[i][i];
    }
    double[] x = new double[n];
    for (int i = n - 1; i >= 0; i--) {
      double sum = z[i];
      for (int k = i + 1; k < n; k++) {
        sum -= l[k][i] * x[k];
      }
      x[i] = sum / l[i][i];
    }
    return x;
  }
}
