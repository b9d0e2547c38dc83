"""CRC (TS 36.212 5.1.1): against bit-serial long division, catalogue check values, masks."""

from __future__ import annotations

import numpy as np
import pytest

from phy.fec.crc import (
    crc_attach,
    crc_attach_masked,
    crc_check,
    crc_check_masked,
    crc_generator,
    crc_length,
    crc_parity,
    crc_syndrome,
    crc_syndrome_value,
    pbch_crc_mask,
    rnti_crc_mask,
)

# Generators written out from the spec text, independent of the module's degree tuples.
SPEC_POLY = {
    "24a": (1 << 24) | (1 << 23) | (1 << 18) | (1 << 17) | (1 << 14) | (1 << 11) | (1 << 10)
    | (1 << 7) | (1 << 6) | (1 << 5) | (1 << 4) | (1 << 3) | (1 << 1) | 1,
    "24b": (1 << 24) | (1 << 23) | (1 << 6) | (1 << 5) | (1 << 1) | 1,
    "16": (1 << 16) | (1 << 12) | (1 << 5) | 1,
    "8": (1 << 8) | (1 << 7) | (1 << 4) | (1 << 3) | (1 << 1) | 1,
}


def long_division_parity(bits: np.ndarray, poly: int, length: int) -> np.ndarray:
    """Bit-serial reference: remainder of a(D) * D^L divided by g(D), p_0 = coefficient of D^(L-1)."""
    reg = 0
    for b in list(bits) + [0] * length:
        reg = (reg << 1) | int(b)
        if reg >> length:
            reg ^= poly
    return np.array([(reg >> (length - 1 - j)) & 1 for j in range(length)], dtype=np.uint8)


def bytes_to_bits(data: bytes) -> np.ndarray:
    return np.unpackbits(np.frombuffer(data, dtype=np.uint8))


def bits_to_int(bits: np.ndarray) -> int:
    return int("".join(str(int(b)) for b in bits), 2)


@pytest.mark.parametrize("kind", ["24a", "24b", "16", "8"])
def test_generator_matches_spec(kind):
    assert crc_generator(kind) == SPEC_POLY[kind]
    assert crc_length(kind) == SPEC_POLY[kind].bit_length() - 1


@pytest.mark.parametrize("kind", ["24a", "24b", "16", "8"])
def test_parity_equals_long_division(kind):
    rng = np.random.default_rng(1)
    length = crc_length(kind)
    for a_len in [0, 1, 7, 8, 9, 24, 40, 57, 100, 1000, 6120]:
        a = rng.integers(0, 2, a_len, dtype=np.uint8)
        expected = long_division_parity(a, SPEC_POLY[kind], length)
        np.testing.assert_array_equal(crc_parity(a, kind), expected, err_msg=f"A={a_len}")


@pytest.mark.parametrize("kind", ["24a", "24b", "16", "8"])
def test_every_byte_count_and_lead_bits_against_long_division(kind):
    """The register runs 8 bytes per step, then byte by byte, after A mod 8 bit-serial lead bits:
    every byte count 0..25 (0..3 whole steps, every remainder) with 0, 3 and 7 lead bits, as one batch
    per length and row by row."""
    rng = np.random.default_rng(3)
    length = crc_length(kind)
    for n_bytes in range(26):
        for n_lead in (0, 3, 7):
            a = rng.integers(0, 2, (3, 8 * n_bytes + n_lead), dtype=np.uint8)
            expected = np.array([long_division_parity(row, SPEC_POLY[kind], length) for row in a])
            np.testing.assert_array_equal(crc_parity(a, kind), expected, err_msg=f"{n_bytes} B + {n_lead}")
            np.testing.assert_array_equal(crc_parity(a[1], kind), expected[1])


# CRC catalogue check values of ASCII "123456789" (init 0, no reflection, no final XOR):
# CRC-24/LTE-A 0xCDE703, CRC-24/LTE-B 0x23EF52, CRC-16/XMODEM 0x31C3, CRC-8/LTE 0xEA.
@pytest.mark.parametrize(
    ("kind", "check"), [("24a", 0xCDE703), ("24b", 0x23EF52), ("16", 0x31C3), ("8", 0xEA)]
)
def test_catalogue_check_value(kind, check):
    assert bits_to_int(crc_parity(bytes_to_bits(b"123456789"), kind)) == check


def test_batch_equals_rows():
    rng = np.random.default_rng(2)
    a = rng.integers(0, 2, (5, 77), dtype=np.uint8)
    batch = crc_attach(a, "24a")
    assert batch.shape == (5, 101)
    for row_in, row_out in zip(a, batch, strict=True):
        np.testing.assert_array_equal(row_out, crc_attach(row_in, "24a"))
    assert crc_check(batch, "24a").tolist() == [True] * 5


def test_linearity_and_zero_input():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 2, 24, dtype=np.uint8)
    b = rng.integers(0, 2, 24, dtype=np.uint8)
    np.testing.assert_array_equal(crc_parity(a ^ b, "16"), crc_parity(a, "16") ^ crc_parity(b, "16"))
    assert not crc_parity(np.zeros(24, np.uint8), "16").any()


@pytest.mark.parametrize("kind", ["24a", "24b", "16", "8"])
def test_check_detects_every_single_bit_error(kind):
    rng = np.random.default_rng(4)
    b = crc_attach(rng.integers(0, 2, 60, dtype=np.uint8), kind)
    assert crc_check(b, kind)
    errors = np.eye(b.size, dtype=np.uint8)  # every single-bit error pattern, as a batch
    assert not crc_check(b[np.newaxis, :] ^ errors, kind).any()


def test_large_transport_block():
    rng = np.random.default_rng(5)
    a = rng.integers(0, 2, 75376, dtype=np.uint8)  # largest Rel-8 single-layer TBS
    b = crc_attach(a, "24a")
    assert crc_check(b, "24a")
    b[40000] ^= 1
    assert not crc_check(b, "24a")


def test_pbch_masks_table_5_3_1_1_1():
    assert pbch_crc_mask(1).tolist() == [0] * 16
    assert pbch_crc_mask(2).tolist() == [1] * 16
    assert pbch_crc_mask(4).tolist() == [0, 1] * 8


def test_mib_crc_mask_distinguishes_ports():
    # MIB of the shared vector (bytes 68 1C 00), masked for 2 ports.
    mib = bytes_to_bits(bytes([0x68, 0x1C, 0x00]))
    c = crc_attach_masked(mib, "16", pbch_crc_mask(2))
    parity = long_division_parity(mib, SPEC_POLY["16"], 16)
    np.testing.assert_array_equal(c[24:], parity ^ 1)
    np.testing.assert_array_equal(crc_syndrome(c, "16"), np.ones(16, np.uint8))
    assert crc_check_masked(c, "16", pbch_crc_mask(2))
    assert not crc_check_masked(c, "16", pbch_crc_mask(1))
    assert not crc_check_masked(c, "16", pbch_crc_mask(4))
    assert not crc_check(c, "16")


def test_rnti_mask_msb_first():
    assert bits_to_int(rnti_crc_mask(0xFFFF)) == 0xFFFF
    assert rnti_crc_mask(0x1234).tolist() == [0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 1, 0, 1, 0, 0]
    rng = np.random.default_rng(6)
    dci = rng.integers(0, 2, 27, dtype=np.uint8)
    c = crc_attach_masked(dci, "16", rnti_crc_mask(0x003D))
    assert bits_to_int(crc_syndrome(c, "16")) == 0x003D


def test_bad_input_messages():
    with pytest.raises(ValueError, match="kind"):
        crc_parity(np.zeros(8, np.uint8), "32")
    with pytest.raises(ValueError, match="0/1"):
        crc_parity(np.array([0, 2, 1]), "8")
    with pytest.raises(ValueError, match="mask_bits"):
        crc_attach_masked(np.zeros(8, np.uint8), "16", np.zeros(8, np.uint8))
    with pytest.raises(ValueError, match="rnti"):
        rnti_crc_mask(0x10000)


@pytest.mark.parametrize("kind", ["24a", "24b", "16", "8"])
def test_syndrome_value_is_the_syndrome_read_msb_first(kind):
    rng = np.random.default_rng(7)
    blocks = rng.integers(0, 2, (20, 57)).astype(np.uint8)
    values = crc_syndrome_value(blocks, kind)
    weights = 1 << np.arange(crc_length(kind) - 1, -1, -1, dtype=np.int64)
    expected = (crc_syndrome(blocks, kind).astype(np.int64) * weights).sum(axis=-1)
    assert np.array_equal(values, expected)
    assert crc_syndrome_value(blocks[3], kind) == int(expected[3])


def test_syndrome_value_of_an_rnti_masked_dci_is_the_rnti():
    # TS 36.212 5.3.3.2: CRC16 parity XOR the RNTI, x_rnti,0 first (MSB)
    payload = np.random.default_rng(3).integers(0, 2, 27).astype(np.uint8)
    for rnti in (0xFFFF, 0xFFFE, 0x0046, 0x1234):
        assert crc_syndrome_value(crc_attach_masked(payload, "16", rnti_crc_mask(rnti)), "16") == rnti
