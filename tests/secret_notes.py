"""A notes folder full of secrets, as a real one is: for tests that nothing secret is learned.

`make_secret_notes(folder)` writes ordinary notes to train on, and beside them: a `.env`, an
`id_rsa`, a note with an AWS key pair, a GitHub token and a `password: hunter2` line, a note
with a PEM private key block, a `private/` folder named in `.tuiwriterignore` and a `build/`
folder named in `.gitignore` (each holding a note with a phrase found nowhere else). It returns
every string that must never reach a model (name -> string); each is long and distinctive
enough that finding it in a checkpoint's bytes, or a ghost completing it, means it leaked.
"""

from __future__ import annotations

from pathlib import Path

SENTENCES = (
    "Wrote a little every morning before the house woke up.",
    "The garden needs water on Tuesdays and the hedge needs trimming in May.",
    "Remember to call the library about the overdue atlas.",
    "A good note says what happened, why it mattered, and what to do next.",
    "The train to the coast leaves at seven and the ferry waits for it.",
)

# Made up for the tests, in the formats real ones have (none of them is a live credential).
AWS_ACCESS_KEY_ID = "AKIAQX4TLM2V7HDW3NZB"
AWS_SECRET_ACCESS_KEY = "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"
GITHUB_TOKEN = "ghp_R4nd0mL00k1ngT0k3nV4lu3Xq9Wz2Mk7Pb5J"
PASSWORD = "hunter2"
ENV_PASSWORD = "env-only-Pa55phrase-Qwv"
PEM_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDq7Zl3Nw2Xc4Tb"
RSA_BODY = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAABlwAAAAdzc2gtcn"
PRIVATE_PHRASE = "the heron counts the reeds backwards every dawn"
BUILD_PHRASE = "generated output of the quince compiler stage nine"


def _ordinary(n: int, offset: int = 0) -> str:
    return "\n".join(" ".join(SENTENCES[(i + k + offset) % len(SENTENCES)] for k in range(3)) for i in range(n)) + "\n"


def make_secret_notes(folder: Path) -> dict[str, str]:
    """Write the folder (created if need be); return the secrets, name -> string."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "journal.md").write_text("# Journal\n\n" + _ordinary(30))
    (folder / "garden.md").write_text("# Garden\n\n" + _ordinary(30, 1))
    (folder / "errands.md").write_text("# Errands\n\n" + _ordinary(30, 2))
    (folder / "aws.md").write_text(
        "# Cloud account\n\nThe backup bucket uses these keys:\n\n"
        f"aws_access_key_id = {AWS_ACCESS_KEY_ID}\naws_secret_access_key = {AWS_SECRET_ACCESS_KEY}\n\n"
        f"The deploy script reads GITHUB_TOKEN={GITHUB_TOKEN} from the shell.\n\n"
        f"Router admin page\npassword: {PASSWORD}\n\n" + _ordinary(8, 3))
    (folder / "server.md").write_text(
        "# Server\n\nThe old key, kept here by mistake:\n\n-----BEGIN PRIVATE KEY-----\n"
        f"{PEM_BODY}\nb2xkIGtleSBrZXB0IGhlcmUgYnkgbWlzdGFrZSBhbmQgbmV2ZXIgcm90YXRlZA==\n"
        "-----END PRIVATE KEY-----\n\nRotate it next week.\n\n" + _ordinary(8, 4))
    (folder / ".env").write_text(f"DATABASE_PASSWORD={ENV_PASSWORD}\n")
    (folder / "id_rsa").write_text(
        f"-----BEGIN OPENSSH PRIVATE KEY-----\n{RSA_BODY}\n-----END OPENSSH PRIVATE KEY-----\n")
    (folder / "id_rsa.pub").write_text("ssh-rsa AAAAB3NzaC1yc2E a public key is fine to read\n" + _ordinary(2))
    (folder / ".tuiwriterignore").write_text("# not for the model\nprivate/\n")
    (folder / "private").mkdir(exist_ok=True)
    (folder / "private" / "diary.md").write_text(f"Dear diary, {PRIVATE_PHRASE}.\n" + _ordinary(6))
    (folder / ".gitignore").write_text("build/\n")
    (folder / "build").mkdir(exist_ok=True)
    (folder / "build" / "out.md").write_text(f"{BUILD_PHRASE}\n" + _ordinary(6))
    return {
        "aws_access_key_id": AWS_ACCESS_KEY_ID,
        "aws_secret_access_key": AWS_SECRET_ACCESS_KEY,
        "github_token": GITHUB_TOKEN,
        "password": PASSWORD,
        "env_password": ENV_PASSWORD,
        "pem_private_key": PEM_BODY,
        "id_rsa": RSA_BODY,
        "private_phrase": PRIVATE_PHRASE,
        "build_phrase": BUILD_PHRASE,
    }
