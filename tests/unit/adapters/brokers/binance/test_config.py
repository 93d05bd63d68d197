"""BinanceBrokerConfig: the venue's endpoints per environment, bad settings named."""

from __future__ import annotations

import pytest

from adapters.brokers.binance.config import BinanceBrokerConfig
from domain.errors import InvalidParameter


def test_testnet_is_the_default_with_its_documented_endpoints() -> None:
    config = BinanceBrokerConfig()

    assert config.environment == "testnet"
    assert config.rest_url == "https://testnet.binance.vision"
    assert config.ws_api_url == "wss://ws-api.testnet.binance.vision/ws-api/v3"
    assert config.recv_window_ms == 5000
    assert config.max_connection_age_s == 23.5 * 3600


def test_live_uses_the_production_endpoints() -> None:
    config = BinanceBrokerConfig(environment="live")

    assert config.rest_url == "https://api.binance.com"
    assert config.ws_api_url == "wss://ws-api.binance.com:443/ws-api/v3"


def test_overrides_point_the_broker_elsewhere() -> None:
    config = BinanceBrokerConfig.from_mapping(
        {"rest_url": "http://127.0.0.1:8080/", "ws_api_url": "ws://127.0.0.1:8080/ws-api/v3"}
    )

    assert config.rest_url == "http://127.0.0.1:8080"
    assert config.ws_api_url == "ws://127.0.0.1:8080/ws-api/v3"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("environment", "prod"),
        ("rest_url", "ftp://api.binance.com"),
        ("rest_url", "https://testnet.binance.vision/api"),
        ("ws_api_url", "https://ws-api.binance.com"),
        ("recv_window_ms", 0),
        ("recv_window_ms", 60_001),
        ("recv_window_ms", 5000.5),
        ("request_timeout_s", 0),
        ("request_timeout_s", float("nan")),
        ("request_timeout_s", "10"),
        ("max_connection_age_s", 24 * 3600),
        ("reconnect_initial_delay", -1),
        ("clock_resync_interval_s", True),
        ("unknown_outcome_retry_s", 0),
        ("no_record_margin_ms", -1),
        ("use_system_proxy", "yes"),
    ],
)
def test_a_bad_setting_is_refused_naming_it(field: str, value: object) -> None:
    with pytest.raises(InvalidParameter, match=field):
        BinanceBrokerConfig.from_mapping({field: value})


def test_bounds_must_be_ordered() -> None:
    with pytest.raises(InvalidParameter, match="reconnect_max_delay"):
        BinanceBrokerConfig(reconnect_initial_delay=10, reconnect_max_delay=5)
    with pytest.raises(InvalidParameter, match="unknown_outcome_max_delay_s"):
        BinanceBrokerConfig(unknown_outcome_retry_s=10, unknown_outcome_max_delay_s=5)


def test_an_unknown_key_is_named() -> None:
    with pytest.raises(ValueError, match="recv_window is not a binance broker setting"):
        BinanceBrokerConfig.from_mapping({"recv_window": 5000})
