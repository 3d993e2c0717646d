use survmc::data::SurvivalData;
use survmc::estimators::cox::{self, CoxControl, CoxData, Ties};
#[test]
fn sep() {
    let text = std::fs::read_to_string("/tmp/holdout/data/separation.csv").unwrap();
    let mut t = vec![];
    let mut e = vec![];
    let mut rare = vec![];
    let mut z = vec![];
    for l in text.lines().skip(1) {
        let f: Vec<&str> = l.split(',').collect();
        t.push(f[0].parse::<f64>().unwrap());
        e.push(f[1] == "1");
        rare.push(f[2].parse::<f64>().unwrap());
        z.push(f[3].parse::<f64>().unwrap());
    }
    let d = SurvivalData::new(t, e).unwrap();
    let cd = CoxData::new(&d);
    let f = cox::fit(&cd, &[rare.clone()], Ties::Efron, &CoxControl::r_defaults()).unwrap();
    println!("{:?} {:?} {:?} {} {} {:?}", f.coef, f.se, f.termination, f.loglik, f.iterations, f.warnings);
    let f = cox::fit(&cd, &[rare, z], Ties::Efron, &CoxControl::r_defaults()).unwrap();
    println!("{:?} {:?} {:?} {} {} {:?}", f.coef, f.se, f.termination, f.loglik, f.iterations, f.warnings);
}
