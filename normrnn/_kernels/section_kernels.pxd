# The section kernels of section_kernels.pyx, declared for cimport by the BPTT modules.
# The ih and hh declarations have the same shape on purpose, as their kernels
# do (see section_kernels.pyx).

from cython cimport floating

cdef void _matvec_add(const floating[:, ::1] w, const floating[::1] x,
                      floating[::1] out) noexcept nogil
cdef void _outer_add_and_matvec_t_add(const floating[:, ::1] w,
                                      const floating[::1] x,
                                      const floating[::1] delta,
                                      floating[:, ::1] d_w,
                                      floating[::1] d_x) noexcept nogil
cdef void _activation(const floating[::1] x, floating[::1] out) noexcept nogil
cdef void _activation_backward(const floating[::1] d_state,
                               const floating[::1] middle,
                               floating[::1] delta) noexcept nogil
cdef void _logits_forward(const floating[:, ::1] embedding,
                          const floating[::1] state,
                          floating[::1] logits) noexcept nogil
cdef double _softmax_cross_entropy(floating[::1] logits, int token) noexcept nogil
cdef double _logits_backward(const floating[:, ::1] embedding,
                             const floating[::1] state, int token,
                             floating[::1] d_logits,
                             floating[:, ::1] d_embedding,
                             floating[::1] d_state) noexcept nogil
cdef void _bias_backward(const floating[::1] delta, floating[::1] d_bias) noexcept nogil
cdef void _ih_forward(const floating[:, ::1] ih, const floating[::1] embedded,
                      floating[::1] middle) noexcept nogil
cdef void _ih_backward(const floating[:, ::1] ih, const floating[::1] embedded,
                       const floating[::1] delta, floating[:, ::1] d_ih,
                       floating[::1] d_embedded) noexcept nogil
cdef void _embedding_activation_forward(const floating[:, ::1] embedding,
                                        int token,
                                        floating[::1] embedded) noexcept nogil
cdef void _embedding_activation_backward(const floating[:, ::1] embedding,
                                         int token,
                                         const floating[::1] d_embedded,
                                         floating[:, ::1] d_embedding) noexcept nogil
cdef void _hh_forward(const floating[:, ::1] scaled_hh, const floating[::1] state,
                      floating[::1] middle) noexcept nogil
cdef void _hh_backward(const floating[:, ::1] scaled_hh, const floating[::1] state,
                       const floating[::1] delta, floating[:, ::1] d_scaled_hh,
                       floating[::1] d_state) noexcept nogil
cdef void _row_normalise(const floating[:, ::1] hh,
                         floating[:, ::1] scaled_hh) noexcept nogil
cdef void _row_normalise_backward(const floating[:, ::1] hh,
                                  const floating[:, ::1] d_scaled_hh,
                                  floating[:, ::1] d_hh) noexcept nogil
cdef void _gain_forward(const floating[:, ::1] hh, const floating[::1] gain,
                        floating[:, ::1] scaled_hh) noexcept nogil
cdef void _gain_backward(const floating[:, ::1] hh, const floating[::1] gain,
                         const floating[:, ::1] d_scaled_hh, floating[:, ::1] d_hh,
                         floating[::1] d_gain) noexcept nogil
