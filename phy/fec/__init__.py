"""Channel coding of TS 36.212 5.1: CRC, tail-biting convolutional code, rate matching, segmentation.

The turbo code (phy.fec.turbo) is imported from its own module.
"""

from phy.fec.convolutional import tbcc_decode, tbcc_encode
from phy.fec.crc import (
    crc_attach,
    crc_attach_masked,
    crc_check,
    crc_check_masked,
    crc_parity,
    crc_syndrome,
    pbch_crc_mask,
    rnti_crc_mask,
)
from phy.fec.ratematch import (
    code_block_e,
    rate_dematch_conv,
    rate_dematch_turbo,
    rate_match_conv,
    rate_match_turbo,
    soft_buffer_size,
)
from phy.fec.segmentation import (
    Segmentation,
    concatenate_code_blocks,
    deconcatenate_code_blocks,
    join_code_blocks,
    segment,
    split_code_blocks,
)

__all__ = [
    "Segmentation",
    "code_block_e",
    "concatenate_code_blocks",
    "crc_attach",
    "crc_attach_masked",
    "crc_check",
    "crc_check_masked",
    "crc_parity",
    "crc_syndrome",
    "deconcatenate_code_blocks",
    "join_code_blocks",
    "pbch_crc_mask",
    "rate_dematch_conv",
    "rate_dematch_turbo",
    "rate_match_conv",
    "rate_match_turbo",
    "rnti_crc_mask",
    "segment",
    "soft_buffer_size",
    "split_code_blocks",
    "tbcc_decode",
    "tbcc_encode",
]
