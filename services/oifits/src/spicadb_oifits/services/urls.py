"""Where users reach files, plots and observations: through the gateway's public URL."""

from __future__ import annotations

from uuid import UUID


class Urls:
    def __init__(self, public_url: str) -> None:
        self.base = public_url.rstrip("/")

    def file(self, file_id: UUID) -> str:
        return f"{self.base}/oifits/files/{file_id}"

    def content(self, file_id: UUID) -> str:
        return f"{self.base}/oifits/files/{file_id}/content"

    def preview(self, granule_id: UUID, kind: str) -> str:
        return f"{self.base}/oifits/granules/{granule_id}/previews/{kind}.png"

    def observation(self, observation_id: UUID) -> str:
        return f"{self.base}/nightlogs/observations/{observation_id}"
