//! The built-in tokenizer goes through the `tokenizers` crate and survives a
//! round trip through `tokenizer.json`.

use sharpening_lab::model::Tok;
use sharpening_lab::tasks::arithmetic::Arithmetic;

#[test]
fn char_level_tokenizer_round_trips() {
    let tok = Tok::char_level(Arithmetic::alphabet()).unwrap();
    let again = Tok::from_json(tok.to_json().unwrap().as_bytes()).unwrap();
    for text in ["12+34=46", "7*8=56?Y", "99+99=198?N"] {
        let ids = again.encode(text).unwrap();
        assert_eq!(ids.len(), text.chars().count(), "one token per character");
        assert_eq!(again.decode(&ids).unwrap(), text);
        assert_eq!(ids, tok.encode(text).unwrap());
    }
    let p = tok.encode_prompt("1+1=").unwrap();
    assert_eq!(p[0], tok.bos);
    assert_ne!(tok.bos, tok.eos);
    assert_eq!(tok.decode(&[tok.bos, p[1], tok.eos]).unwrap(), "1", "special tokens are dropped when decoding");
    let shipped = Tok::from_json(sharpening_lab::builtin::files("add").unwrap().tokenizer).unwrap();
    assert_eq!(shipped.encode("12+34=").unwrap(), tok.encode("12+34=").unwrap());
}
