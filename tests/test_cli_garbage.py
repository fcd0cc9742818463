"""Every command fed garbage answers with one line saying what is wrong and exit code 2."""

from __future__ import annotations

import pytest

from clientele.cli import main


@pytest.fixture
def clientele(home, capsys):
    """Run `clientele ARGS...` in this process on an empty home: (exit code, stdout, stderr)."""
    def run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as ended:
            main(list(args))
        out, err = capsys.readouterr()
        return ended.value.code, out, err
    return run


GARBAGE = [
    (("db", "migrate", "--force"), "No such option: --force"),
    (("lake", "sync", "now"), "Got unexpected extra argument(s) (now)"),
    (("import", "completejourney", "--households", "7"), "No such option: --households"),
    (("import", "transactions", "pos.csv", "--format", "xml"), "Invalid value for '--format': 'xml' is not one of 'table', 'csv', 'json'"),
    (("report", "summary", "--engine", "oracle"), "Invalid value for '--engine': 'oracle' is not one of 'duckdb', 'spark'"),
    (("report", "summary", "--format", "pdf"), "Invalid value for '--format': 'pdf' is not one of"),
    (("refresh", "--as-of", "2017-13-01"), "'2017-13-01' is not a date written YYYY-MM-DD"),
    (("refresh", "--window-days", "0"), "Invalid value for '--window-days': Input should be greater than or equal to 1"),
    (("refresh", "--engine", "oracle"), "Invalid value for '--engine': 'oracle'"),
    (("segments", "--engine", "oracle"), "Invalid value for '--engine': 'oracle'"),
    (("export", "pyramid=VIP", "--out", "vip.csv", "--channel", "fax"),
     "Invalid value for '--channel': 'fax' is not one of 'email', 'sms', 'post'"),
    (("export", "pyramid=VIP", "--out", "vip.csv", "--format", "xlsx"), "Invalid value for '--format': 'xlsx' is not one of 'csv', 'parquet'"),
    (("export", "pyramid=huge", "--out", "vip.csv"), "unknown pyramid 'huge'; valid: VIP, major, medium, small"),
    (("export", "tier=gold", "--out", "vip.csv"), "'tier' is ambiguous: say value_tier="),
    (("synth", "--customers", "-5", "--lines", "10", "--out", "synth"),
     "Invalid value for '--customers': Input should be greater than or equal to 1"),
    (("forecast", "complete-journey", "--calibration-weeks", "0"),
     "Invalid value for '--calibration-weeks': Input should be greater than or equal to 1"),
    (("forecast", "clv", "--cohort", "yes"), "Got unexpected extra argument(s) (yes)"),
    (("evaluate", "next-basket", "--seeds", "0"), "Invalid value for '--seeds': Input should be greater than or equal to 1"),
    (("evaluate", "next-basket", "--cutoff", "yesterday"), "'yesterday' is not a date written YYYY-MM-DD"),
    (("loyalty", "liability", "--today", "tomorrow"), "'tomorrow' is not a date written YYYY-MM-DD"),
    (("loyalty", "expire", "--today", "2017-02-30"), "'2017-02-30' is not a date written YYYY-MM-DD"),
    (("loyalty", "review-tiers", "--today", "monday"), "'monday' is not a date written YYYY-MM-DD"),
    (("loyalty", "import-balances", "nowhere.csv"), "'nowhere.csv' does not exist"),
    (("loyalty", "issue-api-key", "--store", "364th", "--name", "till 1"), "Invalid value for '--store': Input should be a valid integer"),
    (("customer", "abc"), "Invalid value for 'customer_id': Input should be a valid integer"),
    (("customer", "0"), "Invalid value for 'customer_id': Input should be greater than or equal to 1"),
    (("customers", "at-risk", "--limit", "-1"), "Invalid value for '--limit': Input should be greater than or equal to 1"),
]


@pytest.mark.parametrize("args, says", GARBAGE, ids=[" ".join(args) for args, _ in GARBAGE])
def test_garbage_gets_one_line_saying_what_is_wrong_and_exit_code_2(clientele, args, says):
    code, _, err = clientele(*args)
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("error: ") and says in err
    assert "Traceback" not in err


def test_a_command_group_without_its_command_shows_its_help_and_exit_code_2(clientele):
    code, out, _ = clientele("customers")
    assert code == 2 and "at-risk" in out


def test_help_still_ends_with_exit_code_0(clientele):
    code, out, _ = clientele("loyalty", "import-balances", "--help")
    assert code == 0
    for column in ("member_number", "card", "opening_points", "joined_on"):
        assert column in out


def test_forecast_complete_journey_help_names_its_option_not_a_placeholder(clientele):
    code, out, _ = clientele("forecast", "complete-journey", "--help")
    assert code == 0 and "CALIBRATION_WEEKS" not in out and "--calibration-weeks" in out
