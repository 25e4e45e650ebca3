"""TLS, mutual TLS and bearer tokens, against real servers on loopback ports."""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
import trustme
from google.protobuf import message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from ringplan import cli
from ringplan.v1 import ringplan_service_pb2 as api
from server.app import create_server
from server.auth import DEFAULT_TENANT, AuthInterceptor, TokenTable, tenant_of
from server.client import RingplanClient, RingplanError
from server.config import ServerConfig
from server.jobs.state import JobState
from server.security import BearerToken
from solver import check_plan
from tests.factory import make, ring, shifts, start_serve, unit, venue

_STORES = itertools.count()


def server_config(folder: Path, **values: Any) -> ServerConfig:
    """A loopback server with one solve slot and its own job store in ``folder``."""
    config = ServerConfig(
        host="127.0.0.1",
        port=0,
        max_concurrent_solves=1,
        drain=0.0,
        jobs_db=str(folder / f"jobs-{next(_STORES)}.sqlite3"),
    )
    return config.with_overrides(values)


TIMEOUT = 10.0


class Pki:
    """A server CA and a client CA from trustme, their certificates written to files."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.server_ca = trustme.CA()
        self.client_ca = trustme.CA()
        self.other_ca = trustme.CA()
        server = self.server_ca.issue_cert("127.0.0.1", "localhost")
        self.server_cert = self._write(
            "server.pem", b"".join(b.bytes() for b in server.cert_chain_pems)
        )
        self.server_key = self._write("server.key", server.private_key_pem.bytes())
        self.client_ca_file = self._write("client-ca.pem", self.client_ca.cert_pem.bytes())
        client = self.client_ca.issue_cert("client@ringplan.test")
        self.client_cert = b"".join(b.bytes() for b in client.cert_chain_pems)
        self.client_key = client.private_key_pem.bytes()
        stranger = self.other_ca.issue_cert("stranger@ringplan.test")
        self.stranger_cert = b"".join(b.bytes() for b in stranger.cert_chain_pems)
        self.stranger_key = stranger.private_key_pem.bytes()

    def _write(self, name: str, data: bytes) -> str:
        path = self.folder / name
        path.write_bytes(data)
        return str(path)

    @property
    def server_root(self) -> bytes:
        return bytes(self.server_ca.cert_pem.bytes())

    def tls(self, mutual: bool = False) -> ServerConfig:
        return server_config(
            self.folder,
            tls_cert=self.server_cert,
            tls_key=self.server_key,
            tls_client_ca=self.client_ca_file if mutual else None,
        )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def tls_server(pki: Pki) -> Iterator[Any]:
    with create_server(pki.tls()) as server:
        yield server


@pytest.fixture(scope="module")
def mtls_server(pki: Pki) -> Iterator[Any]:
    with create_server(pki.tls(mutual=True)) as server:
        yield server


def tiny() -> Any:
    return make([venue(rings=[ring(1, 3, 2)])], [unit(f"u{i}") for i in range(3)], shifts(1))


def reaches(target: str, **options: Any) -> grpc.StatusCode:
    """OK if GetInfo answers over a client with these options, else the failure's code."""
    with RingplanClient(target, timeout=TIMEOUT, **options) as client:
        try:
            client.info()
        except RingplanError as error:
            return error.code
    return grpc.StatusCode.OK


# --- TLS and mutual TLS ------------------------------------------------------------------------


def test_tls_server_answers_a_client_that_trusts_its_ca(tls_server: Any, pki: Pki) -> None:
    with RingplanClient(tls_server.target, root_certificates=pki.server_root) as client:
        assert client.health() == "SERVING"
        instance = tiny()
        result = client.solve(instance, time_limit=5)
        assert check_plan(instance, result.plan).ok
        assert result.status == "optimal"


@pytest.mark.parametrize(
    ("mutual", "options", "expected"),
    [
        # plaintext client against a TLS server
        (False, {}, grpc.StatusCode.UNAVAILABLE),
        # TLS client trusting the server's CA
        (False, {"trusted": True}, grpc.StatusCode.OK),
        # TLS client trusting another CA: the server's certificate is refused
        (False, {"wrong_ca": True}, grpc.StatusCode.UNAVAILABLE),
        # mTLS server, client without a certificate
        (True, {"trusted": True}, grpc.StatusCode.UNAVAILABLE),
        # mTLS server, client certificate signed by the client CA
        (True, {"trusted": True, "cert": "client"}, grpc.StatusCode.OK),
        # mTLS server, client certificate signed by an unknown CA
        (True, {"trusted": True, "cert": "stranger"}, grpc.StatusCode.UNAVAILABLE),
        # mTLS server, good client certificate, but the server's CA is not trusted
        (True, {"wrong_ca": True, "cert": "client"}, grpc.StatusCode.UNAVAILABLE),
        # mTLS server, plaintext client
        (True, {}, grpc.StatusCode.UNAVAILABLE),
    ],
)
def test_tls_matrix_lets_in_only_clients_with_the_right_certificates(
    pki: Pki,
    tls_server: Any,
    mtls_server: Any,
    mutual: bool,
    options: dict[str, Any],
    expected: grpc.StatusCode,
) -> None:
    client: dict[str, Any] = {}
    if options.get("trusted"):
        client["root_certificates"] = pki.server_root
    if options.get("wrong_ca"):
        client["root_certificates"] = pki.other_ca.cert_pem.bytes()
    if options.get("cert") == "client":
        client.update(client_cert=pki.client_cert, client_key=pki.client_key)
    if options.get("cert") == "stranger":
        client.update(client_cert=pki.stranger_cert, client_key=pki.stranger_key)
    server = mtls_server if mutual else tls_server
    assert reaches(server.target, **client) is expected


def test_tls_settings_with_unreadable_files_are_refused_naming_the_setting(
    pki: Pki, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="tls_cert, tls_key: give both or neither"):
        create_server(server_config(tmp_path, tls_cert=pki.server_cert))
    missing = str(tmp_path / "absent.pem")
    with pytest.raises(ValueError, match=r"tls_key .*absent.pem: cannot read it"):
        create_server(pki.tls().with_overrides({"tls_key": missing}))
    with pytest.raises(ValueError, match="tls_client_ca: needs tls_cert"):
        create_server(server_config(tmp_path, tls_client_ca=pki.client_ca_file))
    (tmp_path / "junk.pem").write_text("not a certificate")
    with pytest.raises(ValueError, match=r"tls_client_ca .*junk\.pem: not a PEM file"):
        create_server(pki.tls().with_overrides({"tls_client_ca": str(tmp_path / "junk.pem")}))


# --- bearer tokens ------------------------------------------------------------------------------

TOKENS = {secrets.token_urlsafe(24): "polda-jabar", secrets.token_urlsafe(24): "polda-bali"}
JABAR, BALI = list(TOKENS)


@pytest.fixture(scope="module")
def tokens_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("auth") / "tokens"
    lines = ["# token tenant", "", *(f"{token} {tenant}" for token, tenant in TOKENS.items())]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.fixture(scope="module")
def auth_server(tokens_file: str) -> Iterator[Any]:
    # Reflection is asked for, and must stay off because callers authenticate.
    config = server_config(Path(tokens_file).parent, tokens_file=tokens_file, reflection=True)
    with create_server(config) as server:
        yield server


METHODS = api.DESCRIPTOR.services_by_name["RingplanService"].methods


def call(
    channel: grpc.Channel, method: Any, metadata: list[tuple[str, str]], **fields: Any
) -> grpc.StatusCode:
    """Call ``method`` with a request holding only ``fields``; the status code it ends with."""
    request_class = message_factory.GetMessageClass(method.input_type)
    response_class = message_factory.GetMessageClass(method.output_type)
    path = f"/{method.containing_service.full_name}/{method.name}"
    kind = {
        (False, False): channel.unary_unary,
        (False, True): channel.unary_stream,
        (True, False): channel.stream_unary,
        (True, True): channel.stream_stream,
    }[(method.client_streaming, method.server_streaming)]
    stub = kind(
        path,
        request_serializer=request_class.SerializeToString,
        response_deserializer=response_class.FromString,
    )
    request: Any = request_class(**fields)
    if method.client_streaming:
        request = iter([request])
    try:
        answer = stub(request, timeout=TIMEOUT, metadata=metadata)
        if method.server_streaming:
            list(answer)
    except grpc.RpcError as error:
        if error.code() is grpc.StatusCode.UNAUTHENTICATED:
            details = error.details()
            assert "/" not in details and "Traceback" not in details, details
        return error.code()
    return grpc.StatusCode.OK


@pytest.mark.parametrize("method", METHODS, ids=[m.name for m in METHODS])
@pytest.mark.parametrize(
    ("metadata", "refused"),
    [
        # no authorization header
        ([], True),
        # a header that is not a bearer token
        ([("authorization", f"Basic {JABAR}")], True),
        # bearer with nothing after it
        ([("authorization", "Bearer ")], True),
        # the token without its scheme
        ([("authorization", JABAR)], True),
        # a token the server does not know
        ([("authorization", f"Bearer {secrets.token_urlsafe(24)}")], True),
        # a known token with one character changed
        ([("authorization", f"Bearer {JABAR[:-1]}{'A' if JABAR[-1] != 'A' else 'B'}")], True),
        # two authorization headers
        ([("authorization", f"Bearer {JABAR}"), ("authorization", f"Bearer {BALI}")], True),
        # a valid token
        ([("authorization", f"Bearer {JABAR}")], False),
        # a valid token, scheme in lower case
        ([("authorization", f"bearer {BALI}")], False),
    ],
    ids=[
        "missing",
        "basic",
        "empty",
        "no-scheme",
        "unknown",
        "near-miss",
        "twice",
        "valid",
        "valid-lowercase",
    ],
)
def test_token_matrix_on_every_method(
    auth_server: Any, method: Any, metadata: list[tuple[str, str]], refused: bool
) -> None:
    with grpc.insecure_channel(auth_server.target) as channel:
        code = call(channel, method, metadata)
    if refused:
        assert code is grpc.StatusCode.UNAUTHENTICATED
    else:
        # An empty request is answered by the method itself, never refused or left unhandled.
        assert code not in (
            grpc.StatusCode.UNAUTHENTICATED,
            grpc.StatusCode.UNKNOWN,
            grpc.StatusCode.UNIMPLEMENTED,
            grpc.StatusCode.INTERNAL,
        )


def test_token_refusal_messages_are_plain(auth_server: Any) -> None:
    cases = {None: "missing bearer token", "not-a-token-of-this-server": "unknown bearer token"}
    for token, words in cases.items():
        with (
            RingplanClient(auth_server.target, timeout=TIMEOUT, token=token) as client,
            pytest.raises(RingplanError) as caught,
        ):
            client.info()
        assert caught.value.code is grpc.StatusCode.UNAUTHENTICATED
        assert words in caught.value.message
        assert "/" not in caught.value.message
        assert "Traceback" not in caught.value.message


def test_client_with_a_token_solves_and_health_is_open_without_one(auth_server: Any) -> None:
    instance = tiny()
    with RingplanClient(auth_server.target, timeout=TIMEOUT, token=JABAR) as client:
        assert client.health() == "SERVING"
        result = client.solve(instance, time_limit=5)
        assert check_plan(instance, result.plan).ok
        assert client.validate(instance).valid
    with RingplanClient(auth_server.target, timeout=TIMEOUT) as anonymous:
        assert anonymous.health() == "SERVING"


def test_reflection_is_off_when_callers_authenticate(auth_server: Any) -> None:
    # Even a caller with a valid token finds no reflection service.
    channel = grpc.intercept_channel(grpc.insecure_channel(auth_server.target), BearerToken(JABAR))
    with channel, pytest.raises(grpc.RpcError) as caught:
        ProtoReflectionDescriptorDatabase(channel).get_services()
    assert caught.value.code() is grpc.StatusCode.UNIMPLEMENTED


def test_tenant_of_names_the_tenant_of_the_caller_token() -> None:
    # A bare server with the interceptor and one handler that answers with tenant_of(context).
    seen: list[str] = []

    def whoami(request: bytes, context: grpc.ServicerContext) -> bytes:
        seen.append(tenant_of(context))
        return seen[-1].encode()

    handler = grpc.method_handlers_generic_handler(
        "test.Who", {"Ami": grpc.unary_unary_rpc_method_handler(whoami)}
    )
    for interceptors in ([AuthInterceptor(TokenTable(TOKENS))], []):
        server = grpc.server(futures.ThreadPoolExecutor(2), interceptors=interceptors)
        server.add_generic_rpc_handlers((handler,))
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        try:
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                ask = channel.unary_unary("/test.Who/Ami")
                if interceptors:
                    for token, tenant in TOKENS.items():
                        metadata = [("authorization", f"Bearer {token}")]
                        assert ask(b"", timeout=TIMEOUT, metadata=metadata) == tenant.encode()
                else:
                    assert ask(b"", timeout=TIMEOUT) == DEFAULT_TENANT.encode()
        finally:
            server.stop(None)
    assert seen == ["polda-jabar", "polda-bali", DEFAULT_TENANT]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        # a line with three words
        ("abcdefghijklmnopqrstuvwxyz tenant extra\n", "line 1: expected '<token> <tenant>'"),
        # a token too short to be safe
        ("short tenant\n", "line 1: a token must be at least 16"),
        # a tenant with a slash
        ("abcdefghijklmnopqrstuvwxyz a/b\n", "line 1: tenant 'a/b' must be"),
        # the same token twice
        ("abcdefghijklmnopqrstuvwxyz a\nabcdefghijklmnopqrstuvwxyz b\n", "line 2: the token"),
        # nothing but comments
        ("# nobody\n", "holds no token"),
        # JSON that is not an object of strings
        ('{"abcdefghijklmnopqrstuvwxyz": 3}', "expected an object"),
        # broken JSON
        ('{"abcdefghijklmnopqrstuvwxyz": ', "not valid JSON"),
    ],
)
def test_bad_tokens_file_is_refused_naming_the_problem(
    tmp_path: Path, text: str, words: str
) -> None:
    path = tmp_path / "tokens"
    path.write_text(text)
    with pytest.raises(ValueError) as caught:
        create_server(server_config(tmp_path, tokens_file=str(path)))
    assert words in str(caught.value)
    assert "abcdefghijklmnopqrstuvwxyz" not in str(caught.value)


def test_tokens_file_may_be_json(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps(TOKENS))
    table = TokenTable.load(str(path))
    assert len(table) == 2
    assert table.tenant(JABAR) == "polda-jabar"
    assert table.tenant(BALI) == "polda-bali"
    assert table.tenant(JABAR + "x") is None


def test_cli_solves_over_mutual_tls_with_a_token(
    pki: Pki, tokens_file: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    serve = [
        "--port",
        "0",
        "--tls-cert",
        pki.server_cert,
        "--tls-key",
        pki.server_key,
        "--tls-client-ca",
        pki.client_ca_file,
        "--tokens-file",
        tokens_file,
    ]
    process, target = start_serve(*serve)
    try:
        ca = tmp_path / "ca.pem"
        ca.write_bytes(pki.server_root)
        cert, key = tmp_path / "client.pem", tmp_path / "client.key"
        cert.write_bytes(pki.client_cert)
        key.write_bytes(pki.client_key)
        example = tmp_path / "tiny.json"
        example.write_text(tiny().model_dump_json())
        solve = ["solve", str(example), "--server", target, "--time-limit", "5", "--quiet"]
        secure = ["--tls-ca", str(ca), "--tls-cert", str(cert), "--tls-key", str(key)]
        assert cli.main([*solve, *secure, f"--token={JABAR}"]) == 0
        assert "status: optimal" in capsys.readouterr().out
        assert cli.main([*solve, *secure]) == 2
        error = capsys.readouterr().err
        assert "UNAUTHENTICATED: missing bearer token" in error
        assert "Traceback" not in error
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_a_job_is_visible_only_to_the_tenant_that_submitted_it(auth_server: Any) -> None:
    instance = tiny()
    target = auth_server.target
    with (
        RingplanClient(target, timeout=TIMEOUT, token=JABAR) as owner,
        RingplanClient(target, timeout=TIMEOUT, token=BALI) as other,
    ):
        job, created = owner.submit_job(instance, request_id="plenary-1", time_limit=5)
        assert created
        # Every method that takes a job id answers the other tenant as if the job did not exist.
        by_id = [m for m in METHODS if "job_id" in m.input_type.fields_by_name]
        assert {"GetJob", "WatchJob", "CancelJob"} <= {m.name for m in by_id}
        stranger = [("authorization", f"Bearer {BALI}")]
        with grpc.insecure_channel(target) as channel:
            for method in by_id:
                code = call(channel, method, stranger, job_id=job.id)
                assert code is grpc.StatusCode.NOT_FOUND, method.name
        assert job.id not in {j.id for j in other.list_jobs()[0]}
        # The same request id is another tenant's own, separate job.
        theirs, created = other.submit_job(instance, request_id="plenary-1", time_limit=5)
        assert created and theirs.id != job.id
        final = list(owner.watch_job(job.id, timeout=60))[-1]
        assert final.state is JobState.SUCCEEDED
        assert final.result is not None
        assert check_plan(instance, final.result.plan).ok
        assert job.id in {j.id for j in owner.list_jobs()[0]}
        assert list(other.watch_job(theirs.id, timeout=60))[-1].state is JobState.SUCCEEDED
