"""Code block segmentation and concatenation (TS 36.212 5.1.2, 5.1.5)."""

from __future__ import annotations

import numpy as np
import pytest

from phy.fec.crc import crc_parity
from phy.fec.segmentation import (
    TURBO_BLOCK_SIZES,
    Segmentation,
    concatenate_code_blocks,
    deconcatenate_code_blocks,
    join_code_blocks,
    segment,
    split_code_blocks,
)


def test_block_sizes_follow_table_5_1_3_3_rule():
    expected = (
        list(range(40, 513, 8)) + list(range(528, 1025, 16))
        + list(range(1056, 2049, 32)) + list(range(2112, 6145, 64))
    )  # fmt: skip
    assert list(TURBO_BLOCK_SIZES) == expected
    assert len(TURBO_BLOCK_SIZES) == 188


@pytest.mark.parametrize(
    ("b_len", "expected"),
    [
        # B <= Z: one block, K+ = smallest K >= B, F = K+ - B
        (40, Segmentation(1, 40, 0, 1, 0, 0)),  # TBS 16 + CRC24A
        (20, Segmentation(1, 40, 0, 1, 0, 20)),
        (41, Segmentation(1, 48, 0, 1, 0, 7)),
        (6144, Segmentation(1, 6144, 0, 1, 0, 0)),
        # B = 6145: C = 2, B' = 6193, K+ = 3136, K- = 3072, C- = floor(79/64) = 1, F = 15
        (6145, Segmentation(2, 3136, 3072, 1, 1, 15)),
        # TBS 75376 + 24: C = 13, B' = 75712 = 13 * 5824 exactly: K+ = 5824, C- = 0, F = 0
        (75400, Segmentation(13, 5824, 5760, 13, 0, 0)),
        # TBS 12576 + 24: C = 3, B' = 12672, ceil(B'/3) = 4224 = K+, C- = 0
        (12600, Segmentation(3, 4224, 4160, 3, 0, 0)),
        # TBS 6200 + 24: C = 2, B' = 6272, K+ = 3136, K- = 3072, C- = 0, F = 0
        (6224, Segmentation(2, 3136, 3072, 2, 0, 0)),
    ],
)
def test_segment_hand_worked(b_len, expected):
    assert segment(b_len) == expected


@pytest.mark.parametrize("b_len", [40, 57, 1000, 6144, 6145, 6224, 12000, 30000, 75400])
def test_segment_invariants(b_len):
    seg = segment(b_len)
    b_prime = b_len + seg.c * seg.l
    assert sum(seg.block_sizes) == b_prime + seg.f
    assert seg.c == seg.c_plus + seg.c_minus and len(seg.block_sizes) == seg.c
    assert 0 <= seg.f < seg.k_plus and (seg.c == 1 or seg.f < seg.k_plus - seg.k_minus + seg.l)
    assert all(k in TURBO_BLOCK_SIZES for k in seg.block_sizes)
    assert seg.c * seg.k_plus >= b_prime  # K+ rule
    assert seg.k_plus == min(k for k in TURBO_BLOCK_SIZES if seg.c * k >= b_prime)


@pytest.mark.parametrize("b_len", [20, 40, 41, 6144, 6145, 20000, 75400])
def test_split_join_round_trip(b_len):
    rng = np.random.default_rng(b_len)
    b = rng.integers(0, 2, b_len, dtype=np.uint8)
    seg, blocks = split_code_blocks(b)
    assert [x.size for x in blocks] == list(seg.block_sizes)
    assert not blocks[0][: seg.f].any()  # filler bits are 0 at the encoder input
    if seg.c > 1:
        for x in blocks:  # each block ends with the CRC24B of the rest
            np.testing.assert_array_equal(x[-24:], crc_parity(x[:-24], "24b"))
    # data bits in order: block 0 after the filler, the rest without their CRC
    l_crc = seg.l
    data = np.concatenate(
        [blocks[0][seg.f : blocks[0].size - l_crc]] + [x[: x.size - l_crc] for x in blocks[1:]]
    )
    np.testing.assert_array_equal(data, b)
    joined, crc_ok = join_code_blocks(blocks, b_len)
    np.testing.assert_array_equal(joined, b)
    assert crc_ok.all() and crc_ok.size == seg.c


def test_join_flags_a_bad_block():
    rng = np.random.default_rng(9)
    _, blocks = split_code_blocks(rng.integers(0, 2, 20000, dtype=np.uint8))
    blocks[2] = blocks[2].copy()
    blocks[2][100] ^= 1
    _, crc_ok = join_code_blocks(blocks, 20000)
    assert crc_ok.tolist() == [True, True, False, True]


def test_concatenation_round_trip():
    rng = np.random.default_rng(10)
    lengths = [3996, 4002, 4002]
    e_blocks = [rng.integers(0, 2, n, dtype=np.uint8) for n in lengths]
    f = concatenate_code_blocks(e_blocks)
    assert f.size == 12000
    np.testing.assert_array_equal(f[3996:3996 + 4002], e_blocks[1])
    for got, want in zip(deconcatenate_code_blocks(f, lengths), e_blocks, strict=True):
        np.testing.assert_array_equal(got, want)


def test_bad_input_messages():
    with pytest.raises(ValueError, match="B"):
        segment(0)
    with pytest.raises(ValueError, match="code blocks"):
        join_code_blocks([np.zeros(40, np.uint8)], 7000)
    with pytest.raises(ValueError, match="e_lengths"):
        deconcatenate_code_blocks(np.zeros(10), [4, 4])
