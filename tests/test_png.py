"""The chunk writer and walker shared by the decoder and the provenance stamp."""

import io
import zlib

from PIL import Image

from hf_text_to_image.png import PNG_SIGNATURE, chunk, chunks


def real_png() -> bytes:
    output = io.BytesIO()
    Image.new("RGB", (3, 2), (10, 20, 30)).save(output, format="PNG")
    return output.getvalue()


def test_a_chunk_has_its_length_type_data_and_zlib_crc() -> None:
    written = chunk(b"tEXt", b"key\x00value")
    assert written[:4] == (9).to_bytes(4, "big")
    assert written[4:8] == b"tEXt"
    assert written[8:-4] == b"key\x00value"
    assert written[-4:] == zlib.crc32(b"tEXtkey\x00value").to_bytes(4, "big")


def test_the_walk_finds_pillows_chunks_in_order_and_their_crcs_hold() -> None:
    png = real_png()
    view = memoryview(png)
    found = list(chunks(view))
    assert [part.kind for part in found] == [b"IHDR", b"IDAT", b"IEND"]
    assert found[0].start == len(PNG_SIGNATURE)
    assert found[-1].end == len(png)
    assert all(part.crc_holds(view) for part in found)
    assert bytes(found[0].data(view))[:8] == (3).to_bytes(4, "big") + (2).to_bytes(4, "big")


def test_a_flipped_bit_fails_its_crc_and_a_cut_chunk_is_not_yielded() -> None:
    png = bytearray(real_png())
    idat = next(part for part in chunks(memoryview(png)) if part.kind == b"IDAT")
    png[idat.start + 9] ^= 0x01
    assert not idat.crc_holds(memoryview(png))
    cut = memoryview(bytes(png[: idat.end - 1]))
    assert [part.kind for part in chunks(cut)] == [b"IHDR"]
