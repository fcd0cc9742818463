"""BG/NBD, Pareto/NBD and Gamma-Gamma on the CDNOW sample: the published figures, and behaviour at
the edges (huge frequencies, no repeat buyers, one customer, identical customers)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clientele.forecasting.base import ForecastInputError, ModelFitError, distinct_rows
from clientele.forecasting.beta_geo import BetaGeoModel
from clientele.forecasting.cdnow import cdnow_summary
from clientele.forecasting.gamma_gamma import GammaGammaModel
from clientele.forecasting.pareto_nbd import ParetoNBDModel

HOLDOUT_WEEKS = 39


@pytest.fixture(scope="module")
def sample():
    return cdnow_summary(sample=True)


@pytest.fixture(scope="module")
def bgnbd(sample):
    return BetaGeoModel(sample).fit()


@pytest.fixture(scope="module")
def pareto_nbd(sample):
    return ParetoNBDModel(sample).fit()


@pytest.fixture(scope="module")
def gamma_gamma(sample):
    return GammaGammaModel(sample).fit()


def assert_three_significant_digits(estimates: pd.Series, published: dict[str, float]):
    for name, value in published.items():
        assert float(f"{estimates[name]:.3g}") == float(f"{value:.3g}"), (name, estimates[name])


def test_bgnbd_matches_published_cdnow_estimates(bgnbd):
    assert_three_significant_digits(
        bgnbd.params_, {"r": 0.2426, "alpha": 4.4135, "a": 0.7929, "b": 2.4258}
    )
    assert bgnbd.log_likelihood_ == pytest.approx(-9582.4, abs=0.1)


def test_pareto_nbd_matches_published_cdnow_estimates(pareto_nbd):
    assert_three_significant_digits(
        pareto_nbd.params_, {"r": 0.5534, "alpha": 10.58, "s": 0.6061, "beta": 11.66}
    )
    assert pareto_nbd.log_likelihood_ == pytest.approx(-9595.0, abs=0.1)


def test_gamma_gamma_matches_published_cdnow_estimates_on_the_946_repeat_buyers(gamma_gamma, sample):
    assert (sample["frequency"] > 0).sum() == 946
    assert_three_significant_digits(gamma_gamma.params_, {"p": 6.25, "q": 3.74, "v": 15.44})


def test_classical_models_under_forecast_the_cdnow_holdout_by_about_twelve_percent(
    sample, bgnbd, pareto_nbd
):
    actual = sample["frequency_holdout"]
    assert actual.sum() == 1882
    for model, published_mae in [(bgnbd, 0.786), (pareto_nbd, 0.755)]:
        forecast = model.expected_purchases(t=HOLDOUT_WEEKS)
        assert (forecast - actual).abs().mean() == pytest.approx(published_mae, abs=0.002)
        assert forecast.sum() / actual.sum() == pytest.approx(0.88, abs=0.015)


def test_predictions_are_indexed_by_customer_id(sample, bgnbd, pareto_nbd):
    for model in (bgnbd, pareto_nbd):
        alive = model.expected_probability_alive()
        assert alive.index.equals(sample.index)
        assert ((alive >= 0) & (alive <= 1)).all()


def test_bgnbd_customers_without_repeat_purchase_are_certainly_alive(sample, bgnbd):
    alive = bgnbd.expected_probability_alive()
    assert (alive[sample["frequency"] == 0] == 1).all()


def test_a_customer_who_stopped_buying_long_ago_is_less_likely_alive(bgnbd, pareto_nbd):
    customers = pd.DataFrame(
        {"customer_id": ["recent", "lapsed"], "frequency": [5, 5], "recency": [38.0, 8.0], "T": 38.9}
    )
    for model in (bgnbd, pareto_nbd):
        alive = model.expected_probability_alive(customers)
        assert alive["recent"] > 0.85 and alive["lapsed"] < 0.05


def test_very_frequent_buyers_give_finite_forecasts(bgnbd, pareto_nbd):
    heavy = pd.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "frequency": [500, 5_000, 20_000],
            "recency": [38.0, 38.5, 38.8],
            "T": 38.86,
        }
    )
    columns = [heavy[c].to_numpy(float) for c in ("frequency", "recency", "T")]
    for model in (bgnbd, pareto_nbd):
        assert np.isfinite(model.log_likelihood(model.params_.to_dict(), *columns)).all()
        assert np.isfinite(model.expected_purchases(heavy, t=39)).all()
        assert np.isfinite(model.expected_probability_alive(heavy)).all()


@pytest.mark.parametrize("model_class", [BetaGeoModel, ParetoNBDModel])
def test_fitting_without_any_repeat_buyer_is_refused_with_a_reason(sample, model_class):
    nobody_returned = sample.assign(frequency=0, recency=0.0)
    with pytest.raises(ModelFitError, match="no customer made a repeat purchase"):
        model_class(nobody_returned).fit()


@pytest.mark.parametrize("model_class", [BetaGeoModel, ParetoNBDModel])
def test_one_customer_or_identical_customers_cannot_identify_the_model(sample, model_class):
    identical = pd.DataFrame(
        {"customer_id": range(100), "frequency": 2, "recency": 20.0, "T": 30.0}
    )
    for data in (sample.iloc[[0]], identical):
        with pytest.raises(ModelFitError, match="cannot identify"):
            model_class(data).fit()


def test_ten_copies_of_the_sample_fit_the_same_parameters_from_the_same_distinct_rows(sample, bgnbd):
    copies = pd.concat([sample] * 10, ignore_index=True).rename_axis("customer_id").reset_index()
    columns = [copies[c].to_numpy(float) for c in ("frequency", "recency", "T")]
    distinct, position, counts = distinct_rows(*columns)
    distinct_in_sample, _, _ = distinct_rows(*[sample[c].to_numpy(float) for c in ("frequency", "recency", "T")])
    assert len(distinct[0]) == len(distinct_in_sample[0])
    assert counts.sum() == len(copies)
    np.testing.assert_array_equal(distinct[0][position], columns[0])
    refit = BetaGeoModel(copies).fit()
    np.testing.assert_allclose(refit.params_, bgnbd.params_, rtol=1e-4)


def test_the_input_check_names_the_missing_column(sample):
    with pytest.raises(ForecastInputError, match="'recency'"):
        BetaGeoModel(sample.drop(columns="recency"))
    with pytest.raises(ForecastInputError, match="'monetary_value'"):
        GammaGammaModel(sample.drop(columns="monetary_value"))
    with pytest.raises(ForecastInputError, match="'customer_id'"):
        ParetoNBDModel(sample.reset_index(drop=True))


def test_the_input_check_refuses_repeated_customers_and_impossible_recency(sample):
    repeated = pd.concat([sample.iloc[:2], sample.iloc[:1]])
    with pytest.raises(ForecastInputError, match="unique"):
        BetaGeoModel(repeated)
    with pytest.raises(ForecastInputError, match="recency"):
        BetaGeoModel(sample.assign(recency=sample["T"] + 1))


def test_lifetime_value_is_spend_times_discounted_purchases_with_an_interval(
    sample, bgnbd, gamma_gamma
):
    value = gamma_gamma.expected_customer_lifetime_value(bgnbd, months=12, monthly_discount_rate=0.01)
    undiscounted = gamma_gamma.expected_customer_lifetime_value(bgnbd, months=12, monthly_discount_rate=0.0)
    one_year = gamma_gamma.expected_customer_spend() * bgnbd.expected_purchases(t=365.25 / 7)
    np.testing.assert_allclose(undiscounted, one_year, rtol=1e-9)
    assert (value <= undiscounted).all() and (value > 0).all()

    interval = gamma_gamma.customer_lifetime_value_interval(bgnbd, months=12, draws=100)
    assert interval.index.equals(sample.index)
    assert np.isfinite(interval.to_numpy()).all()
    assert (interval["lower"] <= interval["lifetime_value"]).mean() > 0.95
    assert (interval["lifetime_value"] <= interval["upper"]).mean() > 0.95


def test_value_intervals_take_the_same_quantiles_as_numpy_leaving_failed_draws_out():
    import warnings

    from clientele.forecasting.gamma_gamma import column_quantiles

    rng = np.random.default_rng(7)
    draws = rng.gamma(2.0, 30.0, size=(100, 500))
    draws[rng.random(draws.shape) < 0.05] = np.nan  # draws where the purchase model did not evaluate
    draws[:, 3] = np.nan  # no draw evaluated
    draws[1:, 4] = np.nan  # a single one did
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy warns on the all-NaN column
        expected = np.nanquantile(draws, [0.05, 0.95], axis=0).T

    np.testing.assert_allclose(column_quantiles(draws, (0.05, 0.95)), expected, equal_nan=True)


def test_the_closed_form_value_interval_holds_ninety_percent_of_the_simulated_values(sample, bgnbd, gamma_gamma):
    summary = (sample[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T", "monetary_value"))
    columns = distinct_rows(*summary)[0]
    simulated = gamma_gamma.simulated_values(bgnbd, 12, 0.01, 400, 0, *columns)

    interval = gamma_gamma.customer_lifetime_value_interval(bgnbd, months=12, level=0.9, method="delta")
    bounds, _ = gamma_gamma._delta_bounds(bgnbd, 12, 0.01, 0.9, *columns)

    inside = ((simulated >= bounds[:, 0]) & (simulated <= bounds[:, 1])).mean(axis=0)
    assert inside.mean() == pytest.approx(0.9, abs=0.01)
    assert np.percentile(inside, 5) > 0.8
    assert (interval["lower"] <= interval["lifetime_value"]).all()
    assert (interval["lifetime_value"] <= interval["upper"]).all()
    wider = gamma_gamma.customer_lifetime_value_interval(bgnbd, months=12, level=0.99, method="delta")
    assert (wider["upper"] > interval["upper"]).all() and (wider["lower"] < interval["lower"]).all()


def test_the_forecasts_evaluated_once_per_shared_history_are_each_customers_own_to_the_last_bit(
        sample, bgnbd, gamma_gamma):
    """The BG/NBD's purchases while active are evaluated once per distinct (frequency, age) and
    the value interval's inverse gamma once per frequency (decision 0140): every customer gets the
    floats of evaluating their own row alone."""
    from clientele.forecasting import beta_geo

    x, t_x, T, m = (sample[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T", "monetary_value"))
    params = bgnbd.params_.to_dict()
    assert len(distinct_rows(x, T)[0][0]) < len(x) / 2  # many customers share a (frequency, age)
    alive = beta_geo.probability_alive(params, x, t_x, T)
    shared = BetaGeoModel.purchases_by_horizon(params, x, t_x, T)
    for t in (4.0, 13.0, 52.18):
        alone = np.array([beta_geo._purchases_if_active(params, x[i:i + 1], T[i:i + 1], t)[0] for i in range(len(x))])
        assert np.array_equal(shared(t), alone * alive)
        assert np.array_equal(beta_geo.conditional_expected_purchases(params, x, t_x, T, t), alone * alive)

    bounds, _ = gamma_gamma._delta_bounds(bgnbd, 12, 0.01, 0.9, x, t_x, T, m)
    by_row = [gamma_gamma._delta_bounds(bgnbd, 12, 0.01, 0.9, x[i:i + 1], t_x[i:i + 1], T[i:i + 1], m[i:i + 1])[0][0]
              for i in range(0, len(x), 37)]
    assert np.array_equal(np.array(by_row), bounds[::37])
